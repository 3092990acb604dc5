"""Table(...).materialize() inside a task: stored at once, handed back, cached exactly."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, StateError, Table, TaskState, materialize
from pipedag.debug import materialize_table
from pipedag.store.history import iter_tables

SUB_SQL = {"value": "SELECT 1 AS a"}
EXTRA_SQL = {"value": "SELECT 10 AS b"}


def ref(tbl: sa.Alias) -> str:
    return f'"{tbl.original.schema}"."{tbl.original.name}"'


@materialize(lazy=True)
def with_subquery():
    sub = Table(sa.text(SUB_SQL["value"]), name="_sub").materialize()
    Table(sa.text(EXTRA_SQL["value"]), name="side").materialize()
    return Table(sa.text(f"SELECT a * 2 AS a2 FROM {ref(sub)}"), name="main").materialize()


@materialize(version="1", input_type=pd.DataFrame)
def eager(df: pd.DataFrame):
    doubled = Table(df.assign(a2=df.a2 * 2), "doubled").materialize()
    assert isinstance(doubled, pd.DataFrame)
    return doubled


def build() -> tuple[Flow, object, object]:
    with Flow("imperative") as flow, Stage("s"):
        main = with_subquery()
        out = eager(main)
    return flow, main, out


def test_returned_and_extra_tables_are_published(store_config: ConfigContext) -> None:
    """The returned table is the task's output; tables it did not return are published beside it."""
    flow, main, out = build()
    result = flow.run(config=store_config)
    assert result.get(main)["a2"].tolist() == [2]
    assert result.get(out)["a2"].tolist() == [4]
    with store_config:
        rows = store_config.store.table_store.execute(
            f'SELECT b FROM "{store_config.schema_prefix}s{store_config.schema_suffix}".side'
        )
    assert rows == [(10,)]
    again = flow.run(config=store_config)
    assert set(again.task_states.values()) == {TaskState.CACHE_VALID}


def test_changed_imperative_sql_reruns_the_lazy_task(duckdb_config: ConfigContext) -> None:
    """Changing the SQL of any imperatively materialized table (returned or not) makes the lazy task rerun."""
    flow, main, _ = build()
    flow.run(config=duckdb_config)
    for changed, expected in ((EXTRA_SQL, [2]), (SUB_SQL, [6])):
        original = changed["value"]
        changed["value"] = original.replace("1", "3")
        try:
            result = flow.run(config=duckdb_config)
        finally:
            changed["value"] = original
        assert result.task_states["s.with_subquery"] is TaskState.RAN
        assert result.get(main)["a2"].tolist() == expected


def test_materialize_outside_a_task_is_a_state_error() -> None:
    """Table.materialize() outside a running task raises StateError explaining the alternative."""
    with pytest.raises(StateError, match="inside a running task"):
        Table(pd.DataFrame({"a": [1]}), "t").materialize()


@materialize(version="1")
def debug_write():
    name = materialize_table(Table(pd.DataFrame({"a": [5]}), "look"))
    return pd.DataFrame({"where": [name]})


def test_materialize_table_writes_a_debug_table_that_is_no_output(duckdb_config: ConfigContext) -> None:
    """materialize_table() writes `<name>_debug` for inspection without adding an output."""
    with Flow("debugging") as flow, Stage("s"):
        out = debug_write()
    result = flow.run(config=duckdb_config)
    assert result.get(out)["where"][0].endswith('."look_debug"')
    tables = list(iter_tables(result.outcomes[0].outputs))
    assert [t.name for t in tables] == ["debug_write"]


def test_plan_predicts_imperative_tasks_without_writing(duckdb_config: ConfigContext) -> None:
    """`pipedag plan` calls lazy tasks that materialize imperatively but writes nothing; it predicts both cases."""
    from pipedag.engine.plan import plan_flow

    flow, _, _ = build()
    with duckdb_config.create_store() as store:
        store.prepare_stage("s")
        before = store.list_tables(store.data_schema("s"))
    assert plan_flow(flow, duckdb_config).task("s.with_subquery").action == "run"
    with duckdb_config.create_store() as store:
        assert store.list_tables(store.data_schema("s")) == before
    flow.run(config=duckdb_config)
    assert plan_flow(flow, duckdb_config).task("s.with_subquery").action == "cache-valid"


def test_parallel_engine_materializes_imperatively(duckdb_config: ConfigContext) -> None:
    """With tasks executing on worker threads, imperative tables and task contexts work the same."""
    from pipedag import ParallelEngine

    flow, main, out = build()
    result = flow.run(config=duckdb_config, engine=ParallelEngine(2))
    assert result.get(main)["a2"].tolist() == [2] and result.get(out)["a2"].tolist() == [4]
