"""Every engine makes the same decisions and publishes the same tables; threads run tasks at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
import pytest

from pipedag import (
    ConfigContext,
    DaskEngine,
    Flow,
    ParallelEngine,
    SequentialEngine,
    Stage,
    Table,
    TaskState,
    materialize,
)
from pipedag.errors import ConfigError
from tests.engine.wide_flow import build_wide, decisions, tables


def test_every_engine_matches_sequential(store_config: ConfigContext, tmp_path: Any) -> None:
    """Parallel threads and a Dask cluster give the sequential engine's decisions and tables, twice over."""
    from dataclasses import replace

    def twin(name: str) -> ConfigContext:
        prefix = f"{store_config.schema_prefix}{name}"
        other = replace(store_config, instance_id=f"{store_config.instance_id}_{name}", schema_prefix=prefix)
        if store_config.table_store_url.startswith("duckdb"):
            other = replace(other, table_store_url=f"duckdb:///{tmp_path / name}.duckdb")
        return other

    engines = {
        "seq": SequentialEngine,
        "par": lambda: ParallelEngine(workers=3),
        "dsk": lambda: DaskEngine(n_workers=2, processes=False),  # worker threads: DuckDB files work too
    }
    configs = {name: store_config if name == "seq" else twin(name) for name in engines}
    first = {name: build_wide(branches=2).run(configs[name], engine=make()) for name, make in engines.items()}
    assert all(result.successful for result in first.values())
    assert decisions(first["par"]) == decisions(first["seq"]) == decisions(first["dsk"])
    assert tables(first["par"]) == tables(first["seq"]) == tables(first["dsk"])
    second = {name: build_wide(branches=2).run(configs[name], engine=make()) for name, make in engines.items()}
    assert decisions(second["par"]) == decisions(second["seq"]) == decisions(second["dsk"])
    # the snapshot task now sees the committed out.combined (new input); everything else is reused
    assert [d[0] for d in decisions(second["par"]) if d[1] != "cache-valid"] == ["out.snapshot"]


def test_failure_keeps_independent_branch_running(duckdb_config: ConfigContext) -> None:
    """With fail_fast=False a failing task does not stop an independent branch; its dependants are skipped."""
    started = threading.Event()

    @materialize(version="1")
    def fails() -> pd.DataFrame:
        started.wait(10)  # fail only once the independent branch is under way
        raise ValueError("boom")

    @materialize(version="1")
    def slow(i: int) -> pd.DataFrame:
        started.set()
        time.sleep(0.3)
        return pd.DataFrame({"i": [i]})

    @materialize(version="1")
    def after(df: pd.DataFrame) -> pd.DataFrame:
        return df

    with Flow("f") as flow:
        with Stage("bad"):
            broken = fails()
        with Stage("good"):
            first = slow(1)
            after(first)
        with Stage("downstream"):
            after(broken)
    result = flow.run(duckdb_config, engine=ParallelEngine(workers=2), fail_fast=False)
    states = result.task_states
    assert states["bad.fails"] is TaskState.FAILED
    assert states["good.slow"] is TaskState.RAN and states["good.after"] is TaskState.RAN
    assert states["downstream.after"] is TaskState.SKIPPED
    assert result.get(first).to_dict("list") == {"i": [1]}


def test_stage_two_task_starts_while_stage_one_sibling_runs(duckdb_config: ConfigContext) -> None:
    """A task of stage 2 whose input is ready runs while a slow task of stage 1 is still running."""
    downstream_ran = threading.Event()

    @materialize(version="1")
    def quick() -> pd.DataFrame:
        return pd.DataFrame({"a": [1]})

    @materialize(version="1")
    def slow_sibling() -> pd.DataFrame:
        if not downstream_ran.wait(20):
            raise AssertionError("the stage-2 task did not start while this stage-1 task ran")
        return pd.DataFrame({"b": [2]})

    @materialize(version="1")
    def consumer(df: pd.DataFrame) -> pd.DataFrame:
        downstream_ran.set()
        return df

    with Flow("f") as flow:
        with Stage("one"):
            out = quick()
            slow_sibling()
        with Stage("two"):
            consumer(out)
    result = flow.run(duckdb_config, engine=ParallelEngine(workers=2))
    assert result.successful


def test_consumer_of_an_abandoned_stage_is_voided(store_config: ConfigContext) -> None:
    """A stage-2 task that already ran on a stage-1 output is skipped, and stage 2 not published, when stage 1 fails."""
    consumer_done = threading.Event()

    @materialize(version="1")
    def good() -> Table:
        return Table(pd.DataFrame({"a": [1]}), "good")

    @materialize(version="1")
    def bad() -> pd.DataFrame:
        consumer_done.wait(20)
        raise ValueError("late failure")

    @materialize(version="1")
    def consumer(df: pd.DataFrame) -> Table:
        return Table(df, "consumed")

    @materialize(version="1")
    def signal(df: pd.DataFrame) -> pd.DataFrame:
        consumer_done.set()
        return df

    with Flow("f") as flow:
        with Stage("one"):
            out = good()
            bad()
        with Stage("two"):
            consumed = consumer(out)
            signal(consumed)
    result = flow.run(store_config, engine=ParallelEngine(workers=2), fail_fast=False)
    states = result.task_states
    assert states["one.bad"] is TaskState.FAILED
    assert states["two.consumer"] is TaskState.SKIPPED
    with store_config.create_store() as store:
        assert store.list_tables(store.data_schema("two")) == set()
        assert store.list_tables(store.data_schema("one")) == set()


def test_fail_fast_raises_and_publishes_nothing_after(duckdb_config: ConfigContext) -> None:
    """Under ParallelEngine fail_fast re-raises the task's exception and leaves the stage unpublished."""

    @materialize(version="1")
    def ok() -> pd.DataFrame:
        return pd.DataFrame({"a": [1]})

    @materialize(version="1")
    def broken() -> pd.DataFrame:
        raise KeyError("missing")

    with Flow("f") as flow, Stage("s"):
        ok()
        broken()
    with pytest.raises(KeyError, match="missing"):
        flow.run(duckdb_config, engine=ParallelEngine(workers=2), fail_fast=True)
    with duckdb_config.create_store() as store:
        assert store.load_history(["s"])["s"].versions == {}
        assert store.list_tables(store.data_schema("s")) == set()


def test_parallel_engine_rejects_zero_workers() -> None:
    """ParallelEngine(workers=0) fails with a message naming the argument."""
    with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
        ParallelEngine(workers=0)


def test_imperative_tables_and_task_context_under_parallel_and_dask(duckdb_config: ConfigContext) -> None:
    """Table.materialize() inside tasks works on worker threads and Dask workers (the running-task context travels)."""
    from tests.engine.test_imperative import build as build_imperative

    for engine in (ParallelEngine(2), DaskEngine(n_workers=1, processes=False)):
        flow, main, out = build_imperative()
        result = flow.run(duckdb_config, engine=engine, cache_validation="force_cache_invalid")
        assert result.get(main)["a2"].tolist() == [2]
        assert result.get(out)["a2"].tolist() == [4]
