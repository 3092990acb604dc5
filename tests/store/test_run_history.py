"""Run history in the metadata schema: one row per task per run, with decision, reason and rows."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, materialize
from pipedag.store.run_history import last_task_states, recent_runs, task_runs


def build(version: str = "1", fail: bool = False) -> Flow:
    @materialize(version=version, name="load")
    def load() -> Table:
        return Table(pd.DataFrame({"x": [1, 2, 3]}), "load")

    @materialize(version="1", name="double")
    def double(df: pd.DataFrame) -> Table:
        if fail:
            raise ValueError("boom")
        return Table(df.assign(x=df.x * 2), "double")

    with Flow("hist") as flow, Stage("s"):
        double(load())
    return flow


def test_each_run_records_its_task_decisions(duckdb_config: ConfigContext) -> None:
    """Two runs leave two runs rows and the per-task decision, reason and rows of each."""
    build().run(duckdb_config)
    build().run(duckdb_config)
    with duckdb_config.create_store() as store:
        runs = recent_runs(store)
        assert [(r.run_id, r.status, r.flow) for r in runs] == [(2, "succeeded", "hist"), (1, "succeeded", "hist")]
        assert runs[0].seconds is not None and runs[0].seconds >= 0
        first = task_runs(store, 1)
        second = task_runs(store, 2)
    assert [(t.task, t.decision, t.reason, t.rows) for t in first] == [
        ("load", "ran", "no earlier run of this task", 3),
        ("double", "ran", "no earlier run of this task", 3),
    ]
    assert [(t.task, t.decision) for t in second] == [("load", "cache-valid"), ("double", "cache-valid")]
    assert all(t.seconds >= 0 for t in first + second)


def test_failed_run_records_failure_and_skips(duckdb_config: ConfigContext) -> None:
    """A failing task is recorded as failed with its error, and the run status as failed."""
    result = build(fail=True).run(duckdb_config, fail_fast=False)
    assert not result.successful
    with duckdb_config.create_store() as store:
        assert recent_runs(store)[0].status == "failed"
        rows = task_runs(store, result.run_id)
        assert last_task_states(store) == {"s.load": "ran", "s.double": "failed"}
    assert rows[1].decision == "failed" and rows[1].reason == "ValueError: boom"


def test_fail_fast_still_records_history(duckdb_config: ConfigContext) -> None:
    """When fail_fast re-raises, the run is still closed as failed with its task rows."""
    with pytest.raises(ValueError, match="boom"):
        build(fail=True).run(duckdb_config, fail_fast=True)
    with duckdb_config.create_store() as store:
        assert recent_runs(store)[0].status == "failed"
        assert [t.decision for t in task_runs(store, 1)] == ["ran", "failed"]
