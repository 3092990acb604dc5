"""SQLAlchemy selects and text in, SQLAlchemy tables out: SQL that runs inside the database."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from pipedag.core.sql_text import check_single_statement
from pipedag.store.hooks.base import TableHook, schema_placeholders

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore

_SQL_TYPES = (sa.sql.Select, sa.sql.TextClause, sa.sql.CompoundSelect, sa.Table, sa.sql.Alias, sa.sql.Subquery)


def _query(obj: Any) -> sa.ClauseElement:
    if isinstance(obj, sa.Table | sa.sql.Alias | sa.sql.Subquery):
        return sa.select(obj)
    if isinstance(obj, sa.sql.TextClause):
        check_single_statement(obj.text)
    return obj  # type: ignore[no-any-return]


class SqlHook(TableHook):
    """Runs selects/text as ``CREATE TABLE AS`` in the database; hands tables out as aliases."""

    type_names: ClassVar[str] = "sqlalchemy.Table (select / text outputs)"
    identity_is_content: ClassVar[bool] = False

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """SQLAlchemy selects, text clauses, tables and aliases."""
        return isinstance(obj, _SQL_TYPES)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``sqlalchemy.Table``."""
        return as_type is sa.Table

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """CREATE TABLE AS the query, inside the database."""
        sql, params = store.render(_query(obj))
        return store.create_table_as(schema, name, sql, params)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """An alias over the physical table, typed from metadata.

        The alias is anonymous: SQLAlchemy numbers it after the physical name when it renders
        the query (``"t__1a2b3c4d5e6f_1"``), the same way on every run, so that two inputs
        named alike (same table name in two stages, or one table passed twice) never clash.
        """
        return store.sa_table(ref).alias()

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """The exact SQL as it will run, plus its parameters: never normalized or lower-cased.

        Only the instance's schema names are replaced by stable placeholders.
        """
        sql, params = store.render(_query(obj))
        return json.dumps([schema_placeholders(store, sql), [repr(p) for p in params]])
