"""The examples in docs/engines.md work as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
import yaml

from pipedag import PipedagConfig
from pipedag.config.context import Orchestration

PAGE = Path(__file__).resolve().parents[2] / "docs" / "engines.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ParallelEngine example runs in an empty folder (on the zero-configuration DuckDB file)."""
    monkeypatch.chdir(tmp_path)
    (example,) = _blocks("python")
    script = tmp_path / "engines_example.py"
    script.write_text(example)
    runpy.run_path(str(script), run_name="__main__")
    assert (tmp_path / ".pipedag" / "wide.duckdb").is_file()


def test_yaml_example_configures_the_engines() -> None:
    """The orchestration blocks of the page resolve to the engines they name."""
    (text,) = _blocks("yaml")
    source = yaml.safe_load(text)
    source["name"] = "demo"
    for block in source["instances"].values():
        args = {"url": "postgresql://postgres@127.0.0.1:5432/test", "schema_prefix": "{instance_id}_"}
        block["table_store"] = {"args": args}
    config = PipedagConfig(source)
    assert config.get("full").orchestration == Orchestration(engine="parallel", workers=4)
    assert config.get("cluster").orchestration.address == "tcp://scheduler.example.org:8786"
