"""SQL text returned by a task holds exactly one statement; scripts belong in RawSql."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, TaskError, materialize
from pipedag.core.sql_text import statements


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT 1", 1),
        ("SELECT 1;  \n", 1),
        ("SELECT ';' AS a", 1),
        ("SELECT 'it''s; fine'", 1),
        ('SELECT "a;b" FROM t', 1),
        ("SELECT 1 -- a; comment\n", 1),
        ("SELECT 1 /* ; */ ; -- trailing comment", 1),
        ("SELECT $body$ ; $body$", 1),
        ("SELECT 1; DROP SCHEMA x CASCADE", 2),
        ("SELECT 1;; SELECT 2;", 2),
        ("CREATE TABLE a(x int); INSERT INTO a VALUES (1); SELECT * FROM a", 3),
    ],
)
def test_statements_split_only_at_statement_ends(sql: str, count: int) -> None:
    """Semicolons in strings, quoted names, comments and dollar bodies do not end a statement."""
    assert len(statements(sql)) == count


def test_lazy_text_with_two_statements_is_refused(store_config: ConfigContext) -> None:
    """A lazy sa.text with a second statement fails before running anything, so the schema it would drop survives."""
    victim = f"{store_config.schema_prefix}victim"
    store = store_config.create_store()
    with store:
        store.execute_sql(f'CREATE SCHEMA "{victim}"')

    @materialize(lazy=True)
    def sneaky() -> sa.TextClause:
        return sa.text(f'SELECT 1 AS x; DROP SCHEMA "{victim}" CASCADE')

    with Flow("f") as flow, Stage("s"):
        sneaky()
    with pytest.raises(TaskError, match=r"holds 2 statements .*Return a RawSql"):
        flow.run(store_config)
    with store_config.create_store() as again:
        rows = again.execute_sql(
            f"SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{victim}'"
        )
    assert rows[0][0] == 1
