"""Shared fixtures: a fresh DuckDB file per test and, when reachable, the PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipedag import ConfigContext, create_basic_pipedag_config

POSTGRES_URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def duckdb_config(tmp_path: Path) -> ConfigContext:
    """A one-instance config on a new DuckDB file in the test's temp folder."""
    return create_basic_pipedag_config(f"duckdb:///{tmp_path / 'pipedag.duckdb'}", fail_fast=True).get()


def _postgres_available() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        if shutil.which("pg_ctlcluster") and os.geteuid() == 0:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"], check=False)
            try:
                psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
                return True
            except psycopg.OperationalError:
                return False
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the test PostgreSQL server; skips (or fails under CI) when it is unreachable."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI but unreachable.")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable")
    return POSTGRES_URL


_PREFIXES_USED: list[str] = []


@pytest.fixture
def schema_prefix() -> Iterator[str]:
    """A unique schema prefix so that tests on a shared server never see each other's stages."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    _PREFIXES_USED.append(prefix)
    yield prefix


@pytest.fixture(scope="session", autouse=True)
def _drop_prefixed_schemas_at_exit() -> Iterator[None]:
    """Leave the shared server clean: drop what any test wrote under a schema_prefix it was given."""
    yield
    if not _PREFIXES_USED:
        return
    import psycopg

    try:
        for prefix in _PREFIXES_USED:
            drop_schemas(POSTGRES_URL, prefix)
    except psycopg.OperationalError:
        pass  # no server: nothing was written there


def drop_schemas(url: str, prefix: str) -> None:
    """Drop every schema starting with ``prefix`` (cleanup after a PostgreSQL test)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        rows = con.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [prefix]
        ).fetchall()
        for (name,) in rows:
            con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


@pytest.fixture
def pg_prefix(postgres_url: str, schema_prefix: str) -> Iterator[str]:
    """A unique schema prefix on the PostgreSQL server; every schema starting with it is dropped afterwards."""
    yield schema_prefix
    drop_schemas(postgres_url, schema_prefix)


@pytest.fixture
def postgres_config(postgres_url: str, pg_prefix: str) -> ConfigContext:
    """A one-instance config on the PostgreSQL server, isolated by a unique schema prefix, cleaned up after."""
    return create_basic_pipedag_config(postgres_url, schema_prefix=pg_prefix, fail_fast=True).get()



#: Table stores that backend-parametrized tests (``store_config``) run on; add one name here
#: and every such test covers it.
BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the table store under test."""
    return str(request.param)


@pytest.fixture
def store_config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ConfigContext:
    """A fresh, isolated instance on the backend under test (DuckDB file or a unique PostgreSQL prefix)."""
    if backend == "duckdb":
        return create_basic_pipedag_config(f"duckdb:///{tmp_path / 'backend.duckdb'}", fail_fast=True).get()
    url = request.getfixturevalue("postgres_url")
    prefix = request.getfixturevalue("pg_prefix")  # its schemas are dropped after the test
    return create_basic_pipedag_config(url, schema_prefix=prefix, fail_fast=True).get()
