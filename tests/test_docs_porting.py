"""The example in docs/porting.md runs as written, and the page names every peer example program."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "porting.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_porting_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs from a file in an empty folder (its assertions hold)."""
    monkeypatch.chdir(tmp_path)
    script = tmp_path / f"porting_{index}.py"
    script.write_text(BLOCKS[index])
    runpy.run_path(str(script), run_name="__main__")


def test_page_lists_the_example_programs() -> None:
    """Every examples/pydiverse_* program exists, and the page mentions the family."""
    programs = sorted(p.name for p in (ROOT / "examples").glob("pydiverse_*"))
    assert len(programs) == 6 and "examples/pydiverse_*" in PAGE.read_text()
