"""The Python example of docs/incremental.md runs as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "incremental.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def test_page_has_an_example() -> None:
    """The page shows code that runs."""
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_example_runs(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example runs from a file in an empty folder, prints the documented table and due keys."""
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(code)
    names = runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert " id  value2\n  1      20\n  2      40\n  3      66\n  4      80\n  5     100\n  7     140" in out
    details = [o.detail for o in names["result"].outcomes if o.label == "features.doubled"]
    assert details == ["2 keys due (1 new, 1 changed, 1 deleted): input 'events' changed; rows in 2, out 2"]
