"""Atomic stage publish on DuckDB: readers never see a mix, failures leave the last good stage."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import duckdb
import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, TaskState, materialize
from pipedag.store.duckdb import database_path
from tests.engine.flows import build_flow, outputs_of


def connect(config: ConfigContext) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(database_path(config.table_store_url)))


def query(config: ConfigContext, sql: str) -> list[tuple[Any, ...]]:
    con = connect(config)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_stage_tables_are_queryable_by_plain_names(duckdb_config: ConfigContext) -> None:
    """After a run, `SELECT * FROM stage.table` works on the DuckDB file."""
    build_flow().run(duckdb_config)
    assert query(duckdb_config, "SELECT id, name FROM s2.c") == [(1, "Alice")]
    assert query(duckdb_config, "SELECT count(*) FROM s1.names") == [(3,)]


def test_failure_mid_stage_keeps_previous_version(duckdb_config: ConfigContext) -> None:
    """A task failing in a changed stage leaves the published stage intact and drops the new tables."""
    build_flow().run(duckdb_config)
    before = query(duckdb_config, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 's2__pipedag'")
    result = build_flow(literal="Bob", fail_in_s2=True).run(replace(duckdb_config, fail_fast=False))
    assert not result.successful
    assert isinstance(result.exception, RuntimeError)
    assert result.task_states == {
        "s1.a": TaskState.CACHE_VALID, "s1.b": TaskState.CACHE_VALID, "s1.d": TaskState.CACHE_VALID,
        "s2.c": TaskState.RAN, "s2.e": TaskState.FAILED,
    }
    assert query(duckdb_config, "SELECT name FROM s2.c") == [("Alice",)]
    assert query(duckdb_config, "SELECT n FROM s2.e") == [(1,)]
    after = query(duckdb_config, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 's2__pipedag'")
    assert sorted(after) == sorted(before)


def test_fail_fast_reraises_task_exception_with_note(duckdb_config: ConfigContext) -> None:
    """With fail_fast the task's own exception propagates, annotated with the task name."""
    build_flow().run(duckdb_config)
    with pytest.raises(RuntimeError, match="boom in e") as info:
        build_flow(fail_in_s2=True, version_a="2").run(duckdb_config)
    assert "(in pipedag task s2.e)" in info.value.__notes__
    assert query(duckdb_config, "SELECT n FROM s2.e") == [(1,)]


def test_downstream_of_failed_task_is_skipped(duckdb_config: ConfigContext) -> None:
    """Tasks depending on a failed stage are skipped, and the run is unsuccessful."""

    @materialize(version="1")
    def broken() -> pd.DataFrame:
        raise ValueError("bad data")

    @materialize(version="1", input_type=pd.DataFrame)
    def after(df: pd.DataFrame) -> pd.DataFrame:
        return df

    with Flow("f") as flow:
        with Stage("a"):
            x = broken()
        with Stage("b"):
            after(x)
    result = flow.run(duckdb_config, fail_fast=False)
    assert result.task_states == {"a.broken": TaskState.FAILED, "b.after": TaskState.SKIPPED}
    assert not result.successful


def _comments(config: ConfigContext, schema: str) -> dict[str, str | None]:
    rows = query(config, f"SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = '{schema}'")
    return dict(rows)


def test_cache_valid_tables_are_not_copied_when_sibling_changes(duckdb_config: ConfigContext) -> None:
    """In a changed stage, cache-valid tables stay the very same table objects: no row copy."""
    build_flow().run(duckdb_config)
    con = connect(duckdb_config)
    for name in _comments(duckdb_config, "s1__pipedag"):  # a copy or re-creation would lose the mark
        con.execute(f'COMMENT ON TABLE s1__pipedag."{name}" IS \'marked\'')
    con.close()
    result = build_flow(arg_b=5).run(duckdb_config)
    assert result.task_states["s1.b"] is TaskState.RAN
    after = _comments(duckdb_config, "s1__pipedag")
    kept = {name: mark for name, mark in after.items() if name.startswith(("names__", "d__"))}
    assert list(kept.values()) == ["marked", "marked"]
    assert query(duckdb_config, "SELECT k FROM s1.b") == [(5,)]
    assert query(duckdb_config, "SELECT count(*) FROM s1.names") == [(3,)]


def test_unchanged_stage_is_not_touched(duckdb_config: ConfigContext) -> None:
    """A fully cache-valid stage records no new version and keeps every table."""
    build_flow().run(duckdb_config)
    versions = query(duckdb_config, "SELECT stage, run_id FROM pipedag_metadata.stage_versions ORDER BY 1, 2")
    tables = _comments(duckdb_config, "s1__pipedag")
    build_flow().run(duckdb_config)
    assert query(duckdb_config, "SELECT stage, run_id FROM pipedag_metadata.stage_versions ORDER BY 1, 2") == versions
    assert _comments(duckdb_config, "s1__pipedag") == tables


def test_old_versions_are_collected_after_retention(duckdb_config: ConfigContext) -> None:
    """Only the last keep_stage_versions versions keep their tables; older ones are dropped."""
    for k in range(5):
        build_flow(arg_b=k).run(duckdb_config)
    b_tables = [n for n in _comments(duckdb_config, "s1__pipedag") if n.startswith("b__")]
    assert len(b_tables) == duckdb_config.keep_stage_versions
    (count,) = query(duckdb_config, "SELECT count(*) FROM pipedag_metadata.stage_versions WHERE stage = 's1'")[0]
    assert count == duckdb_config.keep_stage_versions


def test_switching_back_to_retained_version_is_a_cache_hit(duckdb_config: ConfigContext) -> None:
    """Going back to the previous argument reuses the retained version's table."""
    build_flow(arg_b=1).run(duckdb_config)
    build_flow(arg_b=2).run(duckdb_config)
    assert build_flow(arg_b=1).run(duckdb_config).task_states["s1.b"] is TaskState.CACHE_VALID
    assert query(duckdb_config, "SELECT k FROM s1.b") == [(1,)]


def test_reader_never_sees_a_half_published_stage(duckdb_config: ConfigContext) -> None:
    """A reader polling two tables of one stage during many publishes always sees one version."""

    def flow_for(version: int) -> Flow:
        @materialize(name="left", version=str(version))
        def left() -> Table:
            return Table(pd.DataFrame({"v": [version] * 100}), "left_t")

        @materialize(name="right", version=str(version))
        def right() -> Table:
            return Table(pd.DataFrame({"v": [version] * 100}), "right_t")

        with Flow("f") as flow, Stage("s"):
            left()
            right()
        return flow

    flow_for(0).run(duckdb_config)
    reader = connect(duckdb_config)  # same process: shares the database instance with the store
    stop = threading.Event()
    seen: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []

    def poll() -> None:
        cursor = reader.cursor()
        while not stop.is_set():
            try:
                seen.append(
                    cursor.execute(
                        "SELECT (SELECT min(v) FROM s.left_t), (SELECT max(v) FROM s.left_t), "
                        "(SELECT min(v) FROM s.right_t), (SELECT max(v) FROM s.right_t)"
                    ).fetchone()
                    or ()
                )
            except duckdb.Error as exc:
                errors.append(exc)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for version in range(1, 25):
            assert flow_for(version).run(duckdb_config).successful
    finally:
        stop.set()
        thread.join()
        reader.close()
    assert errors == []
    assert len(seen) > 25
    assert all(len(set(row)) == 1 for row in seen), [row for row in seen if len(set(row)) != 1][:5]
    assert len({row[0] for row in seen}) > 2  # the reader really observed several versions


def test_result_get_types_and_states(duckdb_config: ConfigContext) -> None:
    """result.get returns pandas by default, and polars or Arrow on request."""
    import polars as pl
    import pyarrow as pa

    flow = build_flow()
    result = flow.run(duckdb_config)
    out = outputs_of(flow)
    assert isinstance(result.get(out["a"]), pd.DataFrame)
    assert result.get(out["a"], as_type=pl.DataFrame).shape == (3, 2)
    assert result.get(out["a"], as_type=pa.Table).num_rows == 3
    assert result.state(out["c"]) is TaskState.RAN
