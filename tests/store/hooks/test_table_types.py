"""Every table type works as a task output and as a task's ``input_type``; bad columns are named."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, PandasArrowDataFrame, Stage, Table, TaskError, materialize, ref
from pipedag.store.hooks import HOOKS, hook_for_object, hook_for_type
from tests.store.hooks.frames import as_arrow


def _input_types() -> list[Any]:
    import duckdb
    import pandas as pd
    import polars as pl

    return [pd.DataFrame, PandasArrowDataFrame, pl.DataFrame, pl.LazyFrame, pa.Table, duckdb.DuckDBPyRelation, sa.Table]


@pytest.mark.parametrize("input_type", _input_types(), ids=lambda t: t.__name__)
def test_input_type_reaches_the_task(store_config: ConfigContext, input_type: Any) -> None:
    """A task with ``input_type=T`` receives a T and its result of the same type is stored."""
    seen: list[type] = []

    @materialize(version="1.0")
    def produce() -> Any:
        return pa.table({"id": [1, 2, 3], "name": ["a", "b", None]})

    @materialize(version="1.0", input_type=input_type, lazy=input_type is sa.Table)
    def consume(tbl: Any) -> Any:
        seen.append(type(tbl))
        if input_type is sa.Table:
            return sa.select(tbl.c.id, tbl.c.name).where(tbl.c.id > 1)
        return tbl

    with Flow("types") as flow, Stage("s"):
        out = consume(produce())
    result = flow.run(config=store_config)
    got = result.get(out, as_type=pa.Table)
    expected_ids = [2, 3] if input_type is sa.Table else [1, 2, 3]
    assert got.column("id").to_pylist() == expected_ids
    assert hook_for_type(input_type) is not None and len(seen) == 1
    if input_type is not sa.Table:
        assert isinstance(as_arrow(result.get(out, as_type=input_type)), pa.Table)


def test_text_output_runs_inside_the_database(store_config: ConfigContext) -> None:
    """An ``sa.text`` result becomes a table through CREATE TABLE AS, referencing inputs with ``ref``."""

    @materialize(version="1.0")
    def produce() -> Any:
        import polars as pl

        return Table(pl.DataFrame({"x": [1, 2, 3]}), "numbers")

    @materialize(lazy=True, input_type=sa.Table)
    def doubled(numbers: Any) -> Any:
        return sa.text(f"SELECT x * 2 AS y FROM {ref(numbers)} ORDER BY x")

    with Flow("text") as flow, Stage("s"):
        out = doubled(produce())
    assert flow.run(config=store_config).get(out, as_type=pa.Table).column("y").to_pylist() == [2, 4, 6]


#: Per backend, a column type its bulk path rejects.
UNSTORABLE = {
    "duckdb": pa.array([1.0, 2.0], pa.float16()),
    "postgres": pa.array([{"a": 1}, {"a": 2}]),
}


def test_unstorable_arrow_column_is_named(store_config: ConfigContext, backend: str) -> None:
    """A column the database cannot hold fails the task with the column's name; the stage stays intact."""
    bad = UNSTORABLE[backend]

    @materialize(version="1.0")
    def produce() -> Any:
        return pa.table({"ok": [1, 2], "bad": bad})

    with Flow("bad") as flow, Stage("s"):
        produce()
    with pytest.raises(TaskError, match=rf"Column 'bad'.* Arrow type {re.escape(str(bad.type))}"):
        flow.run(config=store_config)


def test_mixed_object_column_is_named(store_config: ConfigContext) -> None:
    """A pandas column mixing Python types fails with the column's name and the fix."""
    import pandas as pd

    @materialize(version="1.0")
    def produce() -> Any:
        return pd.DataFrame({"fine": [1, 2], "mixed": [1, "two"]})

    with Flow("mixed") as flow, Stage("s"):
        produce()
    with pytest.raises(TaskError, match=r"Column 'mixed' \(dtype object\).*astype\(str\)"):
        flow.run(config=store_config)


def test_hooks_do_not_import_unused_libraries() -> None:
    """Looking up a hook for a plain Python object imports no frame library."""
    import subprocess
    import sys

    code = (
        "import sys; from pipedag.store.hooks import hook_for_object; hook_for_object({'a': 1}); "
        "print(sorted(m for m in ('pandas', 'polars', 'pyarrow', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert hook_for_object(object()) is None and len(HOOKS) >= 5


def test_lazy_sql_identity_ignores_only_the_schema_prefix(tmp_path: Any) -> None:
    """Instances with different schema prefixes hash a query alike; a changed literal's case does not."""
    from pipedag import create_basic_pipedag_config
    from pipedag.core.table import Column, TableRef
    from pipedag.store.hooks.sql import SqlHook

    identities = []
    for prefix in ("dev_", "prod_"):
        config = create_basic_pipedag_config(f"duckdb:///{tmp_path / prefix}.duckdb", schema_prefix=prefix).get()
        store = config.create_store()
        ref = TableRef("s", "people", store.data_schema("s"), "people__0123456789ab", "k", (Column("name", "VARCHAR"),))
        people = store.sa_table(ref).alias("people")
        identities.append(
            [SqlHook.identity(store, sa.select(people).where(people.c.name == sa.literal_column(f"'{v}'")))
             for v in ("Alice", "ALICE")]
        )
    assert identities[0] == identities[1]
    assert identities[0][0] != identities[0][1]
    assert "dev_" not in identities[0][0] and "{{stage s}}" in identities[0][0]


def test_fingerprint_includes_the_schema(store_config: ConfigContext) -> None:
    """An unversioned task whose values stay but whose column type changes makes downstream rerun."""
    from pipedag import TaskState

    def run(dtype: Any) -> TaskState:
        @materialize(name="source")
        def source() -> Any:
            return pa.table({"x": pa.array([1, 2], dtype)})

        @materialize(name="sink", version="1.0", input_type=pa.Table)
        def sink(tbl: pa.Table) -> Any:
            return tbl

        with Flow("fp") as flow, Stage("s"):
            sink(source())
        return flow.run(config=store_config).task_states["s.sink"]

    assert run(pa.int64()) is TaskState.RAN
    assert run(pa.int64()) is TaskState.CACHE_VALID
    assert run(pa.int32()) is TaskState.RAN
