"""Dry-run plans: predicted decisions match what the run then does, and nothing executes."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, ConfigError, Flow, Stage, Table, materialize
from pipedag.engine.plan import CACHE_VALID, RUN, plan_flow

CALLS: list[str] = []


def build(version: str = "1.0", lazy_filter: int = 0) -> Flow:
    @materialize(version=version, name="source")
    def source() -> Table:
        CALLS.append("source")
        return Table(pd.DataFrame({"x": [1, 2, 3]}), "source")

    @materialize(lazy=True, name="filtered")
    def filtered(src: sa.Alias) -> sa.Select[tuple[int]]:
        CALLS.append("filtered")
        return sa.select(src.c.x).where(src.c.x > lazy_filter)

    @materialize(version="1.0", name="total")
    def total(df: pd.DataFrame) -> Table:
        CALLS.append("total")
        return Table(pd.DataFrame({"total": [int(df.x.sum())]}), "total")

    with Flow("planned") as flow:
        with Stage("raw"):
            s = source()
        with Stage("derived"):
            total(filtered(s))
    return flow


def test_first_plan_runs_everything_without_calling_tasks(duckdb_config: ConfigContext) -> None:
    """Before any run every task would run, and the plan calls no task function."""
    CALLS.clear()
    plan = plan_flow(build(), duckdb_config)
    assert [t.action for t in plan.tasks] == [RUN, RUN, RUN]
    assert plan.task("raw.source").reason == "no earlier run of this task"
    assert plan.task("derived.filtered").reason == "input from raw.source, which will run first"
    assert CALLS == []


def test_plan_after_run_is_all_cache_valid(duckdb_config: ConfigContext) -> None:
    """After a run the plan predicts cache hits and calls only the lazy task."""
    build().run(duckdb_config)
    CALLS.clear()
    plan = plan_flow(build(), duckdb_config)
    assert plan.to_run == []
    assert {t.action for t in plan.tasks} == {CACHE_VALID}
    assert CALLS == ["filtered"]


def test_plan_explains_a_version_bump_and_a_changed_query(duckdb_config: ConfigContext) -> None:
    """A new version and a new lazy query are predicted as reruns with their reasons."""
    build().run(duckdb_config)
    plan = plan_flow(build(version="2.0"), duckdb_config)
    assert plan.task("raw.source").reason == "version 1.0 -> 2.0"
    assert plan.to_run == ["raw.source", "derived.filtered", "derived.total"]
    plan = plan_flow(build(lazy_filter=1), duckdb_config)
    assert plan.to_run == ["derived.filtered", "derived.total"]
    assert plan.task("derived.filtered").reason == "query changed"
    assert plan.task("derived.total").reason == "input from derived.filtered, which will run first"
    result = build(lazy_filter=1).run(duckdb_config)
    assert [o.label for o in result.outcomes if o.state.value == "ran"] == plan.to_run


def test_plan_of_a_stage_subset_uses_published_inputs(duckdb_config: ConfigContext) -> None:
    """Planning one stage reads the inputs it needs from the other stage's published version."""
    with pytest.raises(ConfigError, match=r"no published output of task raw\.source"):
        plan_flow(build(), duckdb_config, stages=["derived"])
    build().run(duckdb_config)
    plan = plan_flow(build(), duckdb_config, stages=["derived"])
    assert [t.label for t in plan.tasks] == ["derived.filtered", "derived.total"]
    with pytest.raises(ConfigError, match=r"Unknown stage .nope.*Known stages: raw, derived"):
        plan_flow(build(), duckdb_config, stages=["nope"])
