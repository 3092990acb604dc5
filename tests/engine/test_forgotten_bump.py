"""A manually versioned task whose code changed but whose version did not is reported, never rerun."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pipedag import ConfigContext, Flow, Stage, TaskState
from pipedag.engine.plan import plan_flow

SOURCE = '''
from pipedag import materialize


@materialize(version="{version}")
def numbers():
    return {{"n": {value}}}
'''

NOTE = "code changed since the cached run, version still 1.0: bump it or use CODE_VERSION"


class _Module:
    """A user module on disk, re-imported after each edit."""

    def __init__(self, root: Path) -> None:
        self.name = f"bump_{uuid.uuid4().hex[:8]}"
        self.path = root / f"{self.name}.py"

    def load(self, version: str, value: int) -> ModuleType:
        self.path.write_text(SOURCE.format(version=version, value=value))
        importlib.invalidate_caches()
        if self.name in sys.modules:
            return importlib.reload(sys.modules[self.name])
        return importlib.import_module(self.name)


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Module]:
    """A throw-away module importable from tmp_path."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = _Module(tmp_path)
    yield mod
    sys.modules.pop(mod.name, None)


def _flow(module: ModuleType) -> Flow:
    with Flow("bump") as flow, Stage("s"):
        module.numbers()
    return flow


def test_changed_code_with_the_same_version_is_reported_not_rerun(
    module: _Module, duckdb_config: ConfigContext, capfd: pytest.CaptureFixture[str]
) -> None:
    """The log and the plan say the code changed and the version did not; the task stays cache-valid."""
    _flow(module.load("1.0", 1)).run(duckdb_config)
    flow = _flow(module.load("1.0", 2))
    assert plan_flow(flow, duckdb_config).task("s.numbers").reason == f"cache hit ({NOTE})"
    capfd.readouterr()
    outcome = flow.run(duckdb_config).outcomes[0]
    assert outcome.state is TaskState.CACHE_VALID
    assert outcome.reason == f"cache hit ({NOTE})"
    assert NOTE in capfd.readouterr().err
    again = flow.run(duckdb_config).outcomes[0]  # still reported: the cached outputs are the old code's
    assert again.reason == f"cache hit ({NOTE})"


def test_unchanged_code_and_bumped_versions_say_nothing(module: _Module, duckdb_config: ConfigContext) -> None:
    """An unchanged task is a plain cache hit, and after a bump the note is gone."""
    _flow(module.load("1.0", 1)).run(duckdb_config)
    assert _flow(module.load("1.0", 1)).run(duckdb_config).outcomes[0].reason == "cache hit"
    _flow(module.load("1.0", 2)).run(duckdb_config)
    assert _flow(module.load("1.1", 2)).run(duckdb_config).outcomes[0].state is TaskState.RAN
    assert _flow(module.load("1.1", 2)).run(duckdb_config).outcomes[0].reason == "cache hit"
