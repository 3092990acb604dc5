"""The table-store backends the hook tests run on: add one to BACKENDS and every test covers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipedag import ConfigContext, create_basic_pipedag_config

BACKENDS = ["duckdb"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the table store under test."""
    return str(request.param)


@pytest.fixture
def store_config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ConfigContext:
    """A fresh, isolated instance on the backend under test."""
    if backend == "duckdb":
        return create_basic_pipedag_config(f"duckdb:///{tmp_path / 'hooks.duckdb'}", fail_fast=True).get()
    url = request.getfixturevalue("postgres_url")
    prefix = request.getfixturevalue("schema_prefix")
    return create_basic_pipedag_config(url, schema_prefix=prefix, fail_fast=True).get()
