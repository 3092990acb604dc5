"""A real instance with run history, a ``pipedag ui`` server on it, and a headless Chromium.

The browser is Debian's ``chromium`` (``.ci/run`` installs it), driven by Playwright; no
browser is downloaded. One browser serves a whole test module.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipedag import Result
from pipedag.config.pipedag_config import PipedagConfig
from tests.conftest import POSTGRES_URL, drop_schemas
from tests.ui.browser import chromium_path

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module (fails under CI when it is missing, else skips)."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium and playwright: apt-get install chromium; pip install -e '.[dev]'.")
        pytest.skip("no system chromium (apt-get install chromium) or no playwright")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


@dataclass
class Site:
    """An instance with history and the ``pipedag ui`` server showing it."""

    backend: str
    folder: Path
    url: str
    config: Any
    flow: Any
    results: list[Result] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    def run(self, sleep: float = 0.0) -> Result:
        """Run the flow once more (``slow`` sleeps ``sleep`` seconds) and remember the result."""
        os.environ["UI_TEST_SLEEP"] = str(sleep)
        try:
            result = self.flow.run(config=self.config, fail_fast=False)
        finally:
            os.environ.pop("UI_TEST_SLEEP", None)
        self.results.append(result)
        return result


def _yaml(url: str, prefix: str) -> str:
    return f"""
name: uidemo
instances:
  mini:
    instance_id: mini
    fail_fast: false
    table_store:
      args:
        url: "{url}"
        schema_prefix: "{prefix}"
"""


def start_server(folder: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``pipedag ui ARGS`` in ``folder`` and return the process and the address it printed."""
    command = [sys.executable, "-m", "pipedag.cli.main", "--config", str(folder / "pipedag.yaml"), "ui", *args]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://\S+/", line)
    if match is None:
        process.kill()
        raise AssertionError(f"pipedag ui printed no address: {line}{process.stdout.read()}")
    return process, match.group(0)


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two runs of the ui flow on each backend and a server on them (PostgreSQL's draws the flow file's wiring)."""
    from tests.ui import uiflow

    folder = tmp_path_factory.mktemp(f"ui_{request.param}")
    prefix = ""
    if request.param == "duckdb":
        url = f"duckdb:///{folder / 'ui.duckdb'}"
    else:
        request.getfixturevalue("postgres_url")
        url, prefix = POSTGRES_URL, f"ui{uuid.uuid4().hex[:8]}_"
    (folder / "pipedag.yaml").write_text(_yaml(url, prefix))
    config = PipedagConfig(folder / "pipedag.yaml").get("mini")
    site = Site(request.param, folder, "", config, uiflow.build())
    site.run()
    site.run(sleep=0.3)
    wiring = [f"{HERE / 'uiflow.py'}:build"] if request.param == "postgres" else []
    site.process, site.url = start_server(folder, *wiring, "--instance", "mini")
    yield site
    site.process.terminate()
    site.process.wait(10)
    if prefix:
        drop_schemas(POSTGRES_URL, prefix)


@pytest.fixture(scope="module")
def tab(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """One browser tab for the module, and the script errors it met."""
    context = browser.new_context(viewport={"width": 1400, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, errors
    context.close()


@pytest.fixture
def page(tab: tuple[Any, list[str]], site: Site) -> Any:
    """The module's tab freshly loaded on the site's page, with the graph drawn."""
    page, errors = tab
    page.goto(site.url)
    page.wait_for_selector(".task")
    yield page
    assert not errors, f"the page raised: {errors}"
