"""Every Python example in the table-type and version docs runs as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [*sorted((DOCS / "table_types").glob("*.md")), DOCS / "versions.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
EXAMPLES = [(page, i, code) for page in PAGES for i, code in enumerate(BLOCK.findall(page.read_text()))]


@pytest.mark.parametrize(
    ("page", "index", "code"), EXAMPLES, ids=[f"{p.stem}-{i}" for p, i, _ in EXAMPLES]
)
def test_example_runs(page: Path, index: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs from a file (so CODE_VERSION can read its source) in an empty folder."""
    monkeypatch.chdir(tmp_path)
    script = tmp_path / f"{page.stem}_{index}.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="__main__")


def test_every_page_has_an_example() -> None:
    """Each table-type page (except the overview) shows code that runs."""
    with_code = {page for page, _, _ in EXAMPLES}
    assert {p for p in PAGES if p.name != "index.md"} <= with_code
