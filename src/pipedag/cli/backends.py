"""What the CLI needs per database, declared in one place: running a query, opening a shell.

Stores not listed here get the generic SQLAlchemy query path and no shell.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipedag.errors import StoreError

if TYPE_CHECKING:
    from pipedag.store.base import SQLTableStore

Rows = tuple[list[str], list[tuple[Any, ...]]]


def _duckdb_query(store: SQLTableStore, sql: str) -> Rows:
    import duckdb

    con: duckdb.DuckDBPyConnection = store.connection  # type: ignore[attr-defined]
    try:
        cursor = con.execute(sql)
        description = cursor.description
        rows = cursor.fetchall() if description else []
    except duckdb.Error as exc:
        raise StoreError(f"DuckDB rejected the query: {exc}".replace("\n", " ")) from exc
    return [d[0] for d in description or []], rows


def _sqlalchemy_query(store: SQLTableStore, sql: str) -> Rows:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(store.config.table_store_url))
    try:
        with engine.connect() as con:
            result = con.exec_driver_sql(sql)
            if not result.returns_rows:
                con.commit()
                return [], []
            return list(result.keys()), [tuple(r) for r in result.fetchall()]
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"The database rejected the query: {exc.orig}".replace("\n", " ")) from exc
    finally:
        engine.dispose()


def sqlalchemy_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg 3 (pipedag's driver) unless a driver is named."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def plain_url(url: str) -> str:
    """The URL without a SQLAlchemy driver suffix (``postgresql+psycopg://`` -> ``postgresql://``)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _duckdb_shell(store: SQLTableStore, command: str | None) -> list[str] | None:
    exe = shutil.which("duckdb")
    if exe is None:
        return None
    return [exe, str(store.path), *(["-c", command] if command else [])]  # type: ignore[attr-defined]


def _psql_shell(store: SQLTableStore, command: str | None) -> list[str] | None:
    exe = shutil.which("psql")
    if exe is None:
        return None
    return [exe, plain_url(store.config.table_store_url), *(["-c", command] if command else [])]


QUERY: dict[str, Callable[[SQLTableStore, str], Rows]] = {"duckdb": _duckdb_query}
SHELL: dict[str, Callable[[SQLTableStore, str | None], list[str] | None]] = {
    "duckdb": _duckdb_shell,
    "postgresql": _psql_shell,
}


def run_query(store: SQLTableStore, sql: str) -> Rows:
    """Run explorative SQL on an open store: column names and all rows."""
    return QUERY.get(store.name, _sqlalchemy_query)(store, sql)


def shell_argv(store: SQLTableStore, command: str | None) -> list[str] | None:
    """The database client's command line, or None when it is not installed (or unknown)."""
    make = SHELL.get(store.name)
    return None if make is None else make(store, command)
