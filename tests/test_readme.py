"""The README's example runs as written, with no config file, and its table is queryable."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first python block of the README runs in an empty folder and writes .pipedag/flow.duckdb."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    assert list(namespace["df"].age2) == [40, 80, 120]  # type: ignore[attr-defined]
    con = duckdb.connect(str(tmp_path / ".pipedag" / "flow.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT name FROM features.summary ORDER BY id").fetchall() == [
            ("Alice",), ("Bob",), ("Charlie",)
        ]
    finally:
        con.close()
