"""Per-database CLI helpers: the generic SQLAlchemy query path (used on PostgreSQL) and client command lines."""

from __future__ import annotations

import shutil
import uuid
from types import SimpleNamespace

import pytest

from pipedag import ConfigContext, StoreError
from pipedag.cli.backends import plain_url, run_query, shell_argv, sqlalchemy_url


def test_urls_pin_psycopg_and_strip_drivers() -> None:
    """SQLAlchemy gets psycopg 3; clients get the URL without a driver suffix."""
    assert sqlalchemy_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert sqlalchemy_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert plain_url("postgresql+psycopg://u@h:5432/db") == "postgresql://u@h:5432/db"


@pytest.mark.postgres
def test_generic_query_path_on_postgres(postgres_url: str) -> None:
    """A store without its own query runner is queried through SQLAlchemy: rows, DDL and errors."""
    config = ConfigContext(pipeline_name="p", instance_name="i", instance_id="i", table_store_url=postgres_url)
    store = SimpleNamespace(name="postgresql", config=config)  # only what the generic path reads
    schema = f"t{uuid.uuid4().hex[:8]}_cli"
    assert run_query(store, f'CREATE SCHEMA "{schema}"') == ([], [])  # type: ignore[arg-type]
    try:
        run_query(store, f'CREATE TABLE "{schema}".t AS SELECT 1 AS a, \'x\' AS b')  # type: ignore[arg-type]
        assert run_query(store, f'SELECT a, b FROM "{schema}".t') == (["a", "b"], [(1, "x")])  # type: ignore[arg-type]
        with pytest.raises(StoreError, match=r"The database rejected the query: .*nope"):
            run_query(store, f'SELECT nope FROM "{schema}".t')  # type: ignore[arg-type]
    finally:
        run_query(store, f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_command_line(postgres_url: str) -> None:
    """The PostgreSQL shell is psql on the plain URL, with -c for one command."""
    config = ConfigContext(pipeline_name="p", instance_name="i", instance_id="i", table_store_url=postgres_url)
    argv = shell_argv(SimpleNamespace(name="postgresql", config=config), "SELECT 1")  # type: ignore[arg-type]
    assert argv is not None and argv[0].endswith("psql") and argv[1:] == [plain_url(postgres_url), "-c", "SELECT 1"]
