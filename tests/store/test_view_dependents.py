"""PostgreSQL: a user's view on a pipedag view never breaks publishing silently nor leaves tables behind."""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg
import pytest

from pipedag import ConfigContext, Flow, Stage, StoreError, Table, materialize
from pipedag.store.identifiers import qualified

pytestmark = pytest.mark.postgres


def _flow(frame: pd.DataFrame) -> tuple[Flow, Any]:
    @materialize(version=None)
    def produce() -> Any:
        return Table(frame, "t")

    with Flow("views") as flow, Stage("s"):
        out = produce()
    return flow, out


def _sql(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as con:
        cursor = con.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def _tables(url: str, schema: str) -> set[str]:
    return {r[0] for r in _sql(url, f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'")}


def test_user_view_survives_a_republish_with_the_same_columns(
    postgres_config: ConfigContext, postgres_url: str
) -> None:
    """With unchanged columns the pipedag view is replaced in place and the user's view shows the new data."""
    p = postgres_config.schema_prefix
    flow, _ = _flow(pd.DataFrame({"x": [1]}))
    flow.run(config=postgres_config)
    _sql(postgres_url, f'CREATE SCHEMA "{p}mine"')
    _sql(postgres_url, f"CREATE VIEW {qualified(p + 'mine', 'v')} AS SELECT x FROM {qualified(p + 's', 't')}")
    flow, _ = _flow(pd.DataFrame({"x": [2, 3]}))
    assert flow.run(config=postgres_config).successful
    assert _sql(postgres_url, f"SELECT x FROM {qualified(p + 'mine', 'v')} ORDER BY x") == [(2,), (3,)]


def test_changed_columns_under_a_user_view_fail_cleanly(postgres_config: ConfigContext, postgres_url: str) -> None:
    """When columns change under a user's view the publish fails naming that view, and leaves nothing behind."""
    p = postgres_config.schema_prefix
    flow, _ = _flow(pd.DataFrame({"x": [1]}))
    flow.run(config=postgres_config)
    before = _tables(postgres_url, p + "s__pipedag")
    _sql(postgres_url, f'CREATE SCHEMA "{p}mine"')
    _sql(postgres_url, f"CREATE VIEW {qualified(p + 'mine', 'v')} AS SELECT x FROM {qualified(p + 's', 't')}")
    flow, _ = _flow(pd.DataFrame({"y": ["a"]}))
    with pytest.raises(StoreError) as info:
        flow.run(config=postgres_config)
    assert f"{p}mine.v" in str(info.value) and "stage 's'" in str(info.value)
    assert _tables(postgres_url, p + "s__pipedag") == before
    assert _sql(postgres_url, f"SELECT x FROM {qualified(p + 'mine', 'v')}") == [(1,)]
    assert _sql(postgres_url, f"SELECT * FROM {qualified(p + 's', 't')}") == [(1,)]
