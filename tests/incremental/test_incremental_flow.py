"""Incremental tasks inside flows, end to end, on both backends."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from pipedag import ConfigContext, Flow, Incremental, Result, Stage, Table, TaskOutcome, materialize
from pipedag.core.result import TaskState
from pipedag.engine.plan import plan_flow
from pipedag.engine.run import run_flow
from pipedag.engine.sequential import SequentialEngine
from pipedag.errors import ConfigError, LockError, WiringError

SOURCE: dict[str, pd.DataFrame] = {}
CALLS: list[list[int]] = []


@materialize(input_type=pd.DataFrame)
def load_events() -> Table:
    """An ordinary task: a full snapshot every run (no version, so it always runs)."""
    return Table(SOURCE["events"].copy(), "events", primary_key=["id"])


@materialize(version="1", input_type=pd.DataFrame, incremental=Incremental(keys=["id"], chunk_size=3))
def doubled(events: pd.DataFrame) -> pd.DataFrame:
    """``value * 2`` for the due keys, recording which keys it saw."""
    CALLS.append(sorted(events["id"].tolist()))
    return events.assign(value2=events.value * 2)[["id", "value2"]]


@materialize(version="1", input_type=pl.DataFrame, incremental=Incremental(keys=["id"], chunk_size=3))
def plus_one(doubled: pl.DataFrame) -> pl.DataFrame:
    """A second incremental task fed by the first one's output (polars)."""
    return doubled.with_columns(value3=pl.col("value2") + 1).select("id", "value3")


def build() -> Flow:
    with Flow("incremental_flow") as flow:
        with Stage("raw"):
            events = load_events()
        with Stage("features"):
            out = doubled(events)
        with Stage("more"):
            plus_one(out)
    return flow


def table(config: ConfigContext, stage: str, name: str) -> list[tuple[int, ...]]:
    with config.create_store() as store:
        schema = store.stage_schema(stage)
        return [tuple(r) for r in store.execute_sql(f'SELECT * FROM "{schema}"."{name}" ORDER BY 1')]


def outcome_of(result: Result, label: str) -> TaskOutcome:
    return next(o for o in result.outcomes if o.label == label)


def seen() -> list[int]:
    keys = sorted(k for call in CALLS for k in call)
    CALLS.clear()
    return keys


@pytest.fixture(autouse=True)
def _source() -> None:
    SOURCE["events"] = pd.DataFrame({"id": range(8), "value": range(8)})
    CALLS.clear()


def test_user_flow_updates_deletes_and_noop(store_config: ConfigContext) -> None:
    """The issue's flow: first run computes all, a rerun touches nothing, updates and deletes propagate down a chain."""
    flow = build()
    assert flow.run(store_config).successful
    assert seen() == list(range(8)) and table(store_config, "more", "plus_one")[-1] == (7, 15)
    result = flow.run(store_config)
    assert result.successful and seen() == []
    assert result.task_states["features.doubled"] is TaskState.CACHE_VALID
    SOURCE["events"] = pd.DataFrame({"id": [0, 1, 2, 3, 4, 5, 6], "value": [0, 1, 20, 3, 4, 5, 6]})
    result = flow.run(store_config)
    assert result.successful and seen() == [2]
    assert table(store_config, "features", "doubled") == [(i, 2 * v) for i, v in enumerate([0, 1, 20, 3, 4, 5, 6])]
    assert table(store_config, "more", "plus_one") == [(i, 2 * v + 1) for i, v in enumerate([0, 1, 20, 3, 4, 5, 6])]


@materialize(version="1", input_type=pd.DataFrame, cache=lambda: SOURCE["events"].to_json())
def load_versioned() -> Table:
    """An ordinary task that reruns only when the source changed."""
    return Table(SOURCE["events"].copy(), "events", primary_key=["id"])


def test_full_refresh_and_plan(store_config: ConfigContext) -> None:
    """pipedag plan counts due keys per reason; full_refresh recomputes one task by name."""
    with Flow("planned") as flow:
        with Stage("raw"):
            events = load_versioned()
        with Stage("features"):
            doubled(events)
    flow.run(store_config)
    seen()
    SOURCE["events"] = pd.DataFrame({"id": range(10), "value": [0, 1, 2, 30, 4, 5, 6, 7, 8, 9]})
    run_flow(flow, store_config, SequentialEngine(store_config), fail_fast=True, stages=["raw"])
    planned = plan_flow(flow, store_config).task("features.doubled")
    assert planned.action == "run" and "3 keys due (2 new, 1 changed)" in planned.reason
    assert seen() == []
    assert flow.run(store_config, full_refresh=["features.doubled"]).successful
    assert seen() == list(range(10))
    with pytest.raises(ConfigError, match="no incremental task"):
        flow.run(store_config, full_refresh=["load_versioned"])


def test_version_bump_reruns_every_key(store_config: ConfigContext) -> None:
    """A new version makes every key due once."""
    flow = build()
    flow.run(store_config)
    seen()
    doubled.version = "2"
    try:
        assert flow.run(store_config).successful
        assert seen() == list(range(8))
    finally:
        doubled.version = "1"


def test_quarantine_publishes_the_rest_and_fails_the_run(store_config: ConfigContext) -> None:
    """A bad key is quarantined: the others are published, and the run ends failed naming the key."""

    @materialize(version="1", input_type=pa.Table,
                 incremental=Incremental(keys=["id"], chunk_size=4, on_error="quarantine", max_attempts=2))
    def fragile(events: pa.Table) -> pa.Table:
        if 5 in events["id"].to_pylist():
            raise ValueError("cannot handle 5")
        return events

    with Flow("quarantine") as flow:
        with Stage("raw"):
            events = load_events()
        with Stage("features"):
            fragile(events)
    result = flow.run(store_config, fail_fast=False)
    assert not result.successful
    outcome = outcome_of(result, "features.fragile")
    assert outcome.state is TaskState.FAILED and "quarantined (5;" in outcome.reason
    assert [r[0] for r in table(store_config, "features", "fragile")] == [0, 1, 2, 3, 4, 6, 7]
    again = flow.run(store_config, fail_fast=False)
    assert "1 quarantined key(s) to retry" in outcome_of(again, "features.fragile").reason
    assert "exhausted their 2 attempts" in outcome_of(again, "features.fragile").reason


def test_incremental_declaration_errors() -> None:
    """Lazy or multi-output incremental tasks are refused while wiring."""
    with pytest.raises(WiringError, match="cannot be lazy"):
        materialize(lazy=True, incremental=Incremental(keys=["id"]))(lambda x: x)
    with pytest.raises(WiringError, match="must be an Incremental"):
        materialize(incremental={"keys": ["id"]})(lambda x: x)  # type: ignore[arg-type]


def reader(config: ConfigContext) -> Any:
    """A connection of its own (not the flow's), like a user's query tool, returning rows of a SQL query."""
    if config.table_store_url.startswith("duckdb"):
        import duckdb

        from pipedag.store.duckdb import database_path

        con: Any = duckdb.connect(str(database_path(config.table_store_url)))
    else:
        import psycopg

        con = psycopg.connect(config.table_store_url, autocommit=True)
    return con


def test_failed_run_changes_nothing_a_reader_sees(store_config: ConfigContext) -> None:
    """While a failing run computes, a reader on another connection sees the last output; afterwards too."""
    flow = build()
    flow.run(store_config)
    with store_config.create_store() as store:
        view = f'"{store.stage_schema("features")}"."doubled"'
        meta = store.metadata_schema
        before = store.list_tables(meta)
    seen_by_reader: list[list[tuple[Any, ...]]] = []

    def failing(events: pd.DataFrame) -> pd.DataFrame:
        con = reader(store_config)
        try:
            seen_by_reader.append([tuple(r) for r in con.execute(f"SELECT * FROM {view} ORDER BY 1").fetchall()])
        finally:
            con.close()
        raise RuntimeError("boom")

    SOURCE["events"] = pd.DataFrame({"id": range(8), "value": [v * 10 for v in range(8)]})
    original = doubled.fn
    doubled.fn = failing
    try:
        result = flow.run(store_config, fail_fast=False)
    finally:
        doubled.fn = original
    assert not result.successful
    old = [(i, 2 * i) for i in range(8)]
    assert seen_by_reader == [old]
    message = next(o.reason for o in result.outcomes if o.label == "features.doubled")
    expected = r"doubled failed on chunk 1 of 3, keys \d\.\.\d \(3 keys, 3 input rows\): RuntimeError: boom"
    assert re.search(expected, message)
    assert table(store_config, "features", "doubled") == old
    with store_config.create_store() as store:
        assert store.list_tables(meta) == before


def test_two_concurrent_runs_of_one_instance(store_config: ConfigContext) -> None:
    """A second run of the same instance waits for the lock and fails after lock_timeout; no key is done twice."""
    import dataclasses
    import threading

    flow = build()
    started, release = threading.Event(), threading.Event()
    original = doubled.fn

    def slow(events: pd.DataFrame) -> pd.DataFrame:
        started.set()
        release.wait(30)
        return original(events)

    doubled.fn = slow
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(flow.run(store_config)))
    try:
        first.start()
        assert started.wait(30)
        with pytest.raises(LockError):
            flow.run(dataclasses.replace(store_config, lock_timeout=0.5))
        release.set()
        first.join(60)
    finally:
        release.set()
        doubled.fn = original
    assert results and results[0].successful
    assert seen() == list(range(8))  # each key computed once, by the first run only
    assert table(store_config, "features", "doubled") == [(i, 2 * i) for i in range(8)]


def test_instances_keep_their_own_key_state(store_config: ConfigContext) -> None:
    """A mini instance beside full (another schema prefix) changes nothing of full's key state or output."""
    import dataclasses

    flow = build()
    flow.run(store_config)
    full_rows = table(store_config, "features", "doubled")
    mini = dataclasses.replace(
        store_config, instance_name="mini", instance_id="mini", schema_prefix=store_config.schema_prefix + "mini_"
    )
    SOURCE["events"] = pd.DataFrame({"id": [1, 2], "value": [100, 200]})
    assert flow.run(mini).successful
    assert table(mini, "features", "doubled") == [(1, 200), (2, 400)]
    assert table(store_config, "features", "doubled") == full_rows
    SOURCE["events"] = pd.DataFrame({"id": range(8), "value": range(8)})
    seen()
    flow.run(store_config)
    assert seen() == []  # full's key state was untouched by mini's run


def test_run_summary_shows_rows_in_and_out(store_config: ConfigContext) -> None:
    """The end-of-run summary lists each incremental task's due keys and rows in/out."""
    from pipedag.engine.summary import render_summary

    flow = build()
    flow.run(store_config)
    SOURCE["events"] = pd.DataFrame({"id": range(9), "value": range(9)})
    text = render_summary(flow.run(store_config).outcomes, 1.0)
    assert "features.doubled: 1 keys due (1 new): input 'events' changed" in text
    assert "more.plus_one: 1 keys due (1 new)" in text and "rows in 1, out 1" in text


def test_parallel_engine_gives_the_same_tables(store_config: ConfigContext) -> None:
    """Under ParallelEngine (a connection per worker thread) incremental tasks publish the same tables."""
    from pipedag import ParallelEngine

    flow = build()
    assert flow.run(store_config, engine=ParallelEngine(workers=2)).successful
    SOURCE["events"] = pd.DataFrame({"id": range(1, 9), "value": [1, 2, 3, 4, 50, 6, 7, 8]})
    assert flow.run(store_config, engine=ParallelEngine(workers=2)).successful
    expected = [(i, 2 * v + 1) for i, v in zip(range(1, 9), [1, 2, 3, 4, 50, 6, 7, 8], strict=True)]
    assert table(store_config, "more", "plus_one") == expected
