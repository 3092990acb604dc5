"""Running a subset of stages: the others are left alone and feed their published outputs."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedag import ConfigContext, ConfigError, Flow, Stage, Table, materialize
from pipedag.engine.run import run_flow
from pipedag.engine.sequential import SequentialEngine


def build(version: str) -> Flow:
    @materialize(version=version, name="a")
    def a() -> Table:
        return Table(pd.DataFrame({"x": [1, 2]}), "a")

    @materialize(version="1", name="b")
    def b(df: pd.DataFrame) -> Table:
        return Table(df.assign(y=df.x * 2), "b")

    with Flow("subset") as flow:
        with Stage("one"):
            out = a()
        with Stage("two"):
            b(out)
    return flow


def test_only_selected_stages_run(duckdb_config: ConfigContext) -> None:
    """With stages=["two"] the changed stage one is not rerun and stage two reuses its cache."""
    build("1").run(duckdb_config)
    result = run_flow(build("2"), duckdb_config, SequentialEngine(), fail_fast=True, stages=["two"])
    assert result.successful
    assert result.task_states == {"two.b": result.task_states["two.b"]}
    assert result.task_states["two.b"].value == "cache-valid"


def test_a_stage_that_was_never_published_is_named(duckdb_config: ConfigContext) -> None:
    """Selecting a stage whose input stage never ran fails with the stage to add."""
    with pytest.raises(ConfigError, match=r"--stage one"):
        run_flow(build("1"), duckdb_config, SequentialEngine(), fail_fast=True, stages=["two"])
