"""RawSql: a multi-statement script's tables are discovered, published and usable downstream."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, RawSql, Stage, Table, TaskError, TaskState, materialize

SCRIPT = """
CREATE TABLE {{out}}.active AS SELECT id, name FROM {{people}} WHERE active;
-- a comment, and a second table built from the first
CREATE TABLE {{out}}.counts AS SELECT count(*) AS n, '{"json": 1}' AS literal FROM {{out}}.active;
"""


@materialize(version="1.0")
def people() -> Any:
    return Table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "active": [True, False, True]}), "people")


def _flow(script: str) -> tuple[Flow, Any]:
    @materialize(name="legacy", lazy=True, input_type=sa.Table)
    def legacy(src: Any) -> Any:
        return RawSql(script, name="legacy", inputs={"people": src})

    @materialize(version="1.0", input_type=pa.Table)
    def total(counts: pa.Table) -> Any:
        return Table(counts.select(["n"]), "total")

    with Flow("raw") as flow:
        with Stage("inputs"):
            src = people()
        with Stage("legacy"):
            raw = legacy(src)
            out = total(raw["counts"])
    return flow, (raw, out)


def test_created_tables_become_outputs(store_config: ConfigContext) -> None:
    """Both tables of the script are readable as raw["name"] and feed a downstream task."""
    flow, (raw, out) = _flow(SCRIPT)
    result = flow.run(config=store_config)
    assert result.get(raw["active"], as_type=pa.Table).column("id").to_pylist() == [1, 3]
    counts = result.get(raw["counts"], as_type=pa.Table)
    assert counts.column("literal").to_pylist() == ['{"json": 1}']  # braces in SQL literals stay untouched
    assert result.get(out, as_type=pa.Table).column("n").to_pylist() == [2]


def test_cached_by_text(store_config: ConfigContext) -> None:
    """The same script is a cache hit; any change of its text reruns it."""
    flow, _ = _flow(SCRIPT)
    flow.run(config=store_config)
    flow, _ = _flow(SCRIPT)
    assert flow.run(config=store_config).task_states["legacy.legacy"] is TaskState.CACHE_VALID
    flow, (raw, _) = _flow(SCRIPT.replace("WHERE active", "WHERE NOT active"))
    result = flow.run(config=store_config)
    assert result.task_states["legacy.legacy"] is TaskState.RAN
    assert result.get(raw["active"], as_type=pa.Table).column("id").to_pylist() == [2]


def test_failing_script_leaves_nothing_behind(store_config: ConfigContext) -> None:
    """A script failing after its first statement drops what it created and names itself."""
    flow, _ = _flow(SCRIPT)
    flow.run(config=store_config)
    broken = SCRIPT.replace("count(*) AS n", "no_such_column AS n")
    flow, _ = _flow(broken)
    with pytest.raises(TaskError, match="RawSql 'legacy' failed"):
        flow.run(config=store_config)
    store = store_config.create_store()
    with store:
        leftovers = [t for t in store.list_tables(store.data_schema("legacy")) if "__" not in t]
    assert leftovers == []
    flow, _ = _flow(SCRIPT)  # the published version is intact and still cache-valid
    result = flow.run(config=store_config)
    assert result.task_states["legacy.legacy"] is TaskState.CACHE_VALID


def test_unbound_placeholder_is_named(store_config: ConfigContext) -> None:
    """A placeholder with no input behind it fails before anything runs, naming it."""
    flow, _ = _flow(SCRIPT.replace("{{people}}", "{{persons}}"))
    with pytest.raises(TaskError, match=r"\{\{persons\}\} bound to nothing"):
        flow.run(config=store_config)
