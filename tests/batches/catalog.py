"""A catalog table for batch tests: ``<prefix>catalog.files(id, path, size_mib)`` in the instance's database."""

from __future__ import annotations

from collections.abc import Iterable

from pipedag import ConfigContext
from pipedag.batches import BatchSource
from pipedag.store.identifiers import qualified, quote


def schema_of(config: ConfigContext) -> str:
    """The catalog's schema: outside pipedag's stages, carrying the test's prefix so it is cleaned up."""
    return f"{config.schema_prefix}catalog"


def source(config: ConfigContext, weight: bool = True) -> BatchSource:
    """A BatchSource over the test catalog, written as a plain schema-qualified table."""
    return BatchSource(f"{schema_of(config)}.files", id="id", item="path", weight="size_mib" if weight else None)


def create(config: ConfigContext, sizes: dict[int, float]) -> None:
    """Create the catalog (primary key on id) holding one row per ``id: size``."""
    with config.create_store() as store:
        store.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema_of(config))}")
        store.execute_sql(
            f"CREATE TABLE {qualified(schema_of(config), 'files')} "
            "(id BIGINT PRIMARY KEY, path TEXT NOT NULL, size_mib DOUBLE PRECISION)"
        )
    append(config, sizes)


def append(config: ConfigContext, sizes: dict[int, float]) -> None:
    """Insert rows ``id: size`` (path ``f<id>``), e.g. new files or ones committed late."""
    if not sizes:
        return
    values = ", ".join(f"({i}, 'f{i}', {float(size)})" for i, size in sizes.items())
    with config.create_store() as store:
        store.execute_sql(f"INSERT INTO {qualified(schema_of(config), 'files')} VALUES {values}")


def ones(ids: Iterable[int]) -> dict[int, float]:
    """Weight 1 for every id."""
    return dict.fromkeys(ids, 1.0)
