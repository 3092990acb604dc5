"""The worked example of docs/batches.md runs as written and prints what the page shows."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "batches.md"


def test_worked_example_prints_the_documented_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's Python example runs in an empty folder and prints the lines of its output block."""
    text = PAGE.read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    documented = re.search(r"Output of a real run.*?```text\n(.*?)```", text, re.S)
    assert documented is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIPEDAG_LOG_LEVEL", "WARNING")
    script = tmp_path / "batches_demo.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out.splitlines()
    for line in documented.group(1).splitlines():
        assert line in printed
