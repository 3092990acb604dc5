"""Storage-format and metadata-schema versions: no stale hit and no crash across pipedag versions."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, StoreError, Table, TaskState, materialize
from pipedag.cache.keys import STORAGE_FORMAT_VERSION, Ingredients
from pipedag.store import metadata as md


def _flow() -> Flow:
    @materialize(version="1")
    def raw() -> Table:
        return Table(pd.DataFrame({"a": [1, 2]}), "raw")

    @materialize(version="1")
    def total(df: pd.DataFrame) -> dict[str, int]:
        return {"sum": int(df["a"].sum())}

    with Flow("formats") as flow, Stage("s"):
        total(raw())
    return flow


def _rewrite_ingredients(config: ConfigContext, change: dict[str, object], rekey: bool = False) -> None:
    """Edit the stored ingredients (and, if ``rekey``, the cache key) of every task record."""
    t = md.task_records
    with config.create_store() as store:
        rows = store.execute(sa.select(t.c.stage, t.c.run_id, t.c.task, t.c.ingredients, t.c.cache_key))
        with store.transaction():
            for stage, run_id, task, text, key in rows:
                data = json.loads(text) | change
                new_key = Ingredients.from_json(data).key() if rekey else key
                store.execute(
                    t.update()
                    .where(t.c.stage == stage, t.c.run_id == run_id, t.c.task == task)
                    .values(ingredients=json.dumps(data), cache_key=new_key)
                )


def test_tables_of_an_older_storage_format_are_rebuilt(store_config: ConfigContext) -> None:
    """Records written with an older storage format are not cache-valid; the reason names the format."""
    _flow().run(store_config)
    _rewrite_ingredients(store_config, {"storage_format": 0}, rekey=True)
    result = _flow().run(store_config)
    assert set(result.task_states.values()) == {TaskState.RAN}
    reason = result.outcomes[0].reason
    assert reason.startswith(f"pipedag's storage format changed (0 -> {STORAGE_FORMAT_VERSION})")
    assert set(_flow().run(store_config).task_states.values()) == {TaskState.CACHE_VALID}


def test_metadata_of_a_newer_pipedag_is_refused(store_config: ConfigContext) -> None:
    """Metadata stamped with a newer schema version fails with a StoreError naming both versions and the fix."""
    _flow().run(store_config)
    with store_config.create_store() as store:
        store.execute(md.schema_version.update().values(version=md.SCHEMA_VERSION + 1))
    newer = rf"newer pipedag \(metadata version {md.SCHEMA_VERSION + 1}; this pipedag reads up to {md.SCHEMA_VERSION}\)"
    with pytest.raises(StoreError, match=newer):
        _flow().run(store_config)
    with pytest.raises(StoreError, match="newer pipedag"), store_config.create_store():
        pass  # the failed open released the database (DuckDB's file lock): opening again refuses again


def test_metadata_from_before_schema_versions_is_migrated(store_config: ConfigContext) -> None:
    """Metadata without a schema version is stamped when opened, and the flow runs on."""
    _flow().run(store_config)
    with store_config.create_store() as store:
        store.execute(md.schema_version.delete())
    assert set(_flow().run(store_config).task_states.values()) == {TaskState.CACHE_VALID}
    with store_config.create_store() as store:
        assert store.execute(sa.select(md.schema_version.c.version)) == [(md.SCHEMA_VERSION,)]


def test_undecodable_records_are_a_clear_error(store_config: ConfigContext) -> None:
    """A task record with fields this pipedag does not know is a StoreError naming the task, not a crash."""
    _flow().run(store_config)
    _rewrite_ingredients(store_config, {"field_of_the_future": 1})
    with pytest.raises(StoreError, match=r"metadata record of task s\.raw .*`pipedag clear-metadata`"):
        _flow().run(store_config)


def test_records_from_before_storage_formats_read_as_format_zero() -> None:
    """Ingredients stored without a storage format (older pipedag) decode as format 0, so their keys differ."""
    current = Ingredients("t", "s", "1")
    old = current.to_json()
    del old["storage_format"]
    assert Ingredients.from_json(old).storage_format == 0
    assert Ingredients.from_json(old).key() != current.key()
