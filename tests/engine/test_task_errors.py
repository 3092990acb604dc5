"""Tasks returning the wrong thing fail with a TaskError naming the task and the fix."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, TaskError, materialize


def run_single(config: ConfigContext, fn: Any, **options: Any) -> Any:
    task = materialize(version="1", **options)(fn)
    with Flow("f") as flow, Stage("s"):
        out = task()
    return flow, out, flow.run(config)


def test_unstorable_return_value(duckdb_config: ConfigContext) -> None:
    """Returning an arbitrary object names the task, the position and what is allowed."""

    def returns_object() -> Any:
        return {"model": object()}

    with pytest.raises(TaskError, match=r"s\.returns_object returned a object at position \['model'\]"):
        run_single(duckdb_config, returns_object)


def test_table_wrapping_wrong_type(duckdb_config: ConfigContext) -> None:
    """Table(...) around something that is not table-like is rejected."""

    def wraps_int() -> Table:
        return Table(5, "five")

    with pytest.raises(TaskError, match=r"Table\(int\)"):
        run_single(duckdb_config, wraps_int)


def test_nout_mismatch(duckdb_config: ConfigContext) -> None:
    """A task declaring nout=2 must return two values."""

    def one() -> Any:
        return (pd.DataFrame({"a": [1]}),)

    with pytest.raises(TaskError, match="nout=2 but returned 1 values"):
        run_single(duckdb_config, one, nout=2)


def test_duplicate_table_names_in_stage(duckdb_config: ConfigContext) -> None:
    """Two tasks producing the same table name in one stage are named in the error."""

    @materialize(version="1")
    def first() -> Table:
        return Table(pd.DataFrame({"a": [1]}), "same")

    @materialize(version="1")
    def second() -> Table:
        return Table(pd.DataFrame({"a": [2]}), "same")

    with Flow("f") as flow, Stage("s"):
        first()
        second()
    with pytest.raises(TaskError, match=r"Tasks s\.first and s\.second both produce table 'same'"):
        flow.run(duckdb_config)


def test_bad_table_name(duckdb_config: ConfigContext) -> None:
    """A table name that is not an identifier is rejected with the task named."""

    def bad() -> Table:
        return Table(pd.DataFrame({"a": [1]}), "no spaces please")

    with pytest.raises(TaskError, match=r"Task s\.bad: Invalid table name"):
        run_single(duckdb_config, bad)


def test_bad_primary_key_column(duckdb_config: ConfigContext) -> None:
    """A primary key on a missing column fails naming the task and table."""

    def keyed() -> Table:
        return Table(pd.DataFrame({"a": [1]}), "keyed", primary_key="missing")

    with pytest.raises(TaskError, match=r"s\.keyed.*primary key or index on table 'keyed'"):
        run_single(duckdb_config, keyed)


def test_scalar_outputs_round_trip(duckdb_config: ConfigContext) -> None:
    """JSON-like task outputs are kept in metadata and come back from result.get."""

    def params() -> dict[str, Any]:
        return {"alpha": 0.5, "names": ["a", "b"]}

    _, out, result = run_single(duckdb_config, params)
    assert result.get(out) == {"alpha": 0.5, "names": ["a", "b"]}
    assert result.get(out["alpha"]) == 0.5


def test_primary_key_and_indexes_are_created(duckdb_config: ConfigContext) -> None:
    """Table(primary_key=..., indexes=...) creates them on the physical table."""
    import duckdb

    from pipedag.store.duckdb import database_path

    def keyed() -> Table:
        return Table(pd.DataFrame({"id": [1, 2], "g": [3, 4]}), "keyed", primary_key="id", indexes=[["g"]])

    run_single(duckdb_config, keyed)
    con = duckdb.connect(str(database_path(duckdb_config.table_store_url)))
    constraints = con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE schema_name = 's__pipedag'"
    ).fetchall()
    indexes = con.execute("SELECT index_name FROM duckdb_indexes() WHERE schema_name = 's__pipedag'").fetchall()
    con.close()
    assert ("PRIMARY KEY",) in constraints
    assert len(indexes) == 1
