"""cfg.store.table_store: get_stage_hash follows the published content of a stage."""

from __future__ import annotations

import pandas as pd

from pipedag import ConfigContext, Flow, Stage, materialize

DATA = {"rows": 2}


@materialize(version="1", cache=lambda: DATA["rows"])
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"n": range(DATA["rows"])})


def test_stage_hash_changes_exactly_with_the_stage_content(duckdb_config: ConfigContext) -> None:
    """A cache-valid rerun keeps the hash; new content changes it; an unpublished stage has its own hash."""
    with Flow("hashing") as flow, Stage("s") as stage:
        numbers()
    access = duckdb_config.store.table_store
    empty = access.get_stage_hash(stage)
    flow.run(config=duckdb_config)
    first = access.get_stage_hash(stage)
    flow.run(config=duckdb_config)
    assert access.get_stage_hash("s") == first != empty
    DATA["rows"] = 3
    try:
        flow.run(config=duckdb_config)
    finally:
        DATA["rows"] = 2
    assert access.get_stage_hash(stage) not in (first, empty)
    assert access.schema_prefix == duckdb_config.schema_prefix
