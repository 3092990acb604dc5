"""Behaviour both table stores must share, run on DuckDB and on the PostgreSQL server alike."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, TaskError, TaskState, materialize


def _flow(version: str, rows: int = 3) -> tuple[Flow, Any, Any]:
    @materialize(version=version)
    def base() -> Table:
        return Table(pd.DataFrame({"id": range(rows), "x": [1.5] * rows}), "base", primary_key="id")

    @materialize(lazy=True)
    def doubled(t: sa.Alias) -> Any:
        return sa.select(t.c.id, (t.c.x * 2).label("x2"))

    with Flow("parity") as flow:
        with Stage("one"):
            b = base()
        with Stage("two"):
            d = doubled(b)
    return flow, b, d


def test_rerun_is_cache_valid_and_change_propagates(store_config: ConfigContext) -> None:
    """An unchanged rerun hits the cache everywhere; a new version reruns the task and its SQL dependant."""
    flow, _, _ = _flow("1")
    assert flow.run(config=store_config).successful
    again = _flow("1")[0].run(config=store_config)
    assert set(again.task_states.values()) == {TaskState.CACHE_VALID}
    flow2, _, d2 = _flow("2", rows=5)
    result = flow2.run(config=store_config)
    assert result.task_states == {"one.base": TaskState.RAN, "two.doubled": TaskState.RAN}
    assert result.get(d2).x2.tolist() == [3.0] * 5


def test_outputs_read_back_as_every_frame_type(store_config: ConfigContext) -> None:
    """pandas, polars and SQLAlchemy inputs see the same rows on both stores."""
    flow, b, _ = _flow("1")
    result = flow.run(config=store_config)
    assert result.get(b).id.tolist() == [0, 1, 2]
    assert result.get(b, as_type=pl.DataFrame)["x"].to_list() == [1.5, 1.5, 1.5]


def test_primary_key_violation_is_a_task_error(store_config: ConfigContext) -> None:
    """A duplicate primary key is reported as the task's error on both stores."""

    @materialize(version="1")
    def dup() -> Table:
        return Table(pd.DataFrame({"id": [1, 1]}), "dup", primary_key="id")

    with Flow("pk") as flow, Stage("s"):
        dup()
    with pytest.raises(TaskError, match="primary key or index on table 'dup' failed"):
        flow.run(config=store_config)


def test_keep_stage_versions_bounds_physical_tables(store_config: ConfigContext) -> None:
    """After several versions only keep_stage_versions versions' tables remain in the data schema."""
    for version in "1234":
        _flow(version)[0].run(config=store_config)
    store = store_config.create_store()
    with store:
        assert len(store.list_tables(store.data_schema("one"))) == store_config.keep_stage_versions


def test_percent_signs_in_sql_and_schema_names(store_config: ConfigContext) -> None:
    """A literal % in task SQL and in the schema prefix reaches the database unchanged."""
    import dataclasses

    cfg = dataclasses.replace(store_config, schema_prefix=store_config.schema_prefix + "p%c_")

    @materialize(lazy=True)
    def literal() -> Any:
        return sa.text("SELECT 'a%b' AS s WHERE 'xyz' LIKE 'x%'")

    with Flow("percent") as flow, Stage("s"):
        out = literal()
    assert flow.run(config=cfg).get(out).s.tolist() == ["a%b"]


def test_missing_table_read_is_a_store_error(store_config: ConfigContext) -> None:
    """Reading a table that does not exist raises StoreError, not a driver exception."""
    from pipedag import StoreError

    store = store_config.create_store()
    with store, pytest.raises(StoreError):
        store.read_arrow("no_such_schema", "no_such_table")


def test_polars_and_arrow_outputs_store_alike(store_config: ConfigContext) -> None:
    """polars frames (string views, categoricals) and Arrow tables are stored and read back unchanged."""
    import pyarrow as pa

    @materialize(version="1")
    def from_polars() -> Any:
        frame = pl.DataFrame({"s": ["a", "b", None], "c": ["x", "y", "x"]})
        return frame.with_columns(pl.col("c").cast(pl.Categorical))

    @materialize(version="1")
    def from_arrow() -> Any:
        return pa.table({"s": pa.array(["a", "b"], type=pa.large_string()), "n": pa.array([1, 2], type=pa.int32())})

    with Flow("frames") as flow, Stage("s"):
        p = from_polars()
        a = from_arrow()
    result = flow.run(config=store_config)
    back = result.get(p, as_type=pl.DataFrame)
    assert back["s"].to_list() == ["a", "b", None] and back["c"].cast(pl.String).to_list() == ["x", "y", "x"]
    assert result.get(a, as_type=pa.Table).column("n").to_pylist() == [1, 2]
