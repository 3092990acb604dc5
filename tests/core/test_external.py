"""ExternalTableReference: an existing table is read without copying; its cache function decides freshness."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from pipedag import ConfigContext, ExternalTableReference, Flow, Stage, Table, TaskError, TaskState, materialize


def _create_source(config: ConfigContext, rows: int) -> None:
    store = config.create_store()
    with store:
        store.execute_sql('CREATE SCHEMA IF NOT EXISTS "raw_src"')
        store.execute_sql('CREATE OR REPLACE TABLE "raw_src"."events" AS SELECT range AS id FROM range($1)', [rows])


def _flow(freshness: int, table: str = "events") -> tuple[Flow, Any]:
    @materialize(name="events", version="1", cache=lambda: freshness)
    def events() -> Any:
        return Table(ExternalTableReference(table, schema="raw_src"), "events")

    @materialize(name="count", version="1", input_type=pa.Table)
    def count(tbl: pa.Table) -> Any:
        return {"rows": tbl.num_rows}

    with Flow("ext") as flow, Stage("s"):
        out = count(events())
    return flow, out


def test_external_table_is_read_and_refreshed_by_cache_function(duckdb_config: ConfigContext) -> None:
    """Downstream reads the external table; it reruns only when the cache function's value changes."""
    _create_source(duckdb_config, 3)
    flow, out = _flow(freshness=1)
    assert flow.run(config=duckdb_config).get(out) == {"rows": 3}
    _create_source(duckdb_config, 5)
    flow, out = _flow(freshness=1)
    result = flow.run(config=duckdb_config)
    assert result.task_states["s.count"] is TaskState.CACHE_VALID  # pipedag cannot see the change by itself
    flow, out = _flow(freshness=2)
    result = flow.run(config=duckdb_config)
    assert result.task_states["s.count"] is TaskState.RAN
    assert result.get(out) == {"rows": 5}
    store = duckdb_config.create_store()
    with store:
        assert store.execute_sql('SELECT count(*) FROM "s"."events"') == [(5,)]  # a view, no copy
        assert "events" not in {t.split("__")[0] for t in store.list_tables(store.data_schema("s"))}


def test_missing_external_table_is_named(duckdb_config: ConfigContext) -> None:
    """A reference to a table that does not exist fails with its schema and name."""
    _create_source(duckdb_config, 1)
    flow, _ = _flow(freshness=1, table="evnts")
    with pytest.raises(TaskError, match=r"ExternalTableReference\('evnts', schema='raw_src'\) names no"):
        flow.run(config=duckdb_config)
