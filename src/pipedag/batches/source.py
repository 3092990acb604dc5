"""Finding a batch source's table in an instance and reading candidate items from it."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from pipedag.batches import tables
from pipedag.batches.spec import BatchSource
from pipedag.errors import ConfigError, StoreError
from pipedag.store import metadata as md
from pipedag.store.base import SQLTableStore

#: Rows read per query while filling a batch bounded only by weight.
PAGE = 1000

#: One candidate item: (id, item, weight).
Row = tuple[int, Any, float]


@dataclass(frozen=True)
class ResolvedSource:
    """A :class:`BatchSource` bound to the physical schema it lives in for one instance."""

    source: BatchSource
    schema: str
    name: str

    @property
    def label(self) -> str:
        """What the inventory records as the job's source: ``landing.file_catalog(id)``."""
        return f"{self.source.table}({self.source.id})"

    def where(self) -> str:
        """``landing.file_catalog (schema "t1_landing")`` for error messages."""
        return f"{self.source.table} (table {self.schema}.{self.name})"

    def table(self) -> sa.TableClause:
        """A lightweight table clause with the columns the inventory reads (always quoted)."""
        s = self.source
        names = {s.id, *(c for c in (s.item, s.weight) if c is not None)}
        columns: list[sa.ColumnClause[Any]] = [sa.column(sa.sql.quoted_name(n, quote=True)) for n in sorted(names)]
        return sa.table(
            sa.sql.quoted_name(self.name, quote=True), *columns, schema=sa.sql.quoted_name(self.schema, quote=True)
        )

    def columns(self, table: sa.TableClause) -> tuple[sa.ColumnElement[Any], ...]:
        """``id, item, weight`` select expressions (item defaults to the id, weight to 1)."""
        s = self.source
        item = table.c[s.item] if s.item else table.c[s.id]
        weight = sa.func.coalesce(table.c[s.weight], 0) if s.weight else sa.literal(1)
        return table.c[s.id].label("id"), item.label("item"), weight.label("weight")


def resolve(store: SQLTableStore, source: BatchSource, stages: Collection[str] = ()) -> ResolvedSource:
    """Where ``source`` lives: a stage of the flow or instance (prefix/suffix applied), else as written."""
    stage = source.schema_part.lower()
    if stage in stages or _published(store, stage):
        return ResolvedSource(source, store.stage_schema(stage), source.table_part.lower())
    return ResolvedSource(source, source.schema_part, source.table_part)


def _published(store: SQLTableStore, stage: str) -> bool:
    v = md.stage_versions
    return bool(store.execute(sa.select(v.c.stage).where(v.c.stage == stage).limit(1)))


def candidates(
    store: SQLTableStore, src: ResolvedSource, lower: int | None, upper: int | None, page: int, job: str | None
) -> Iterator[Row]:
    """Items with ``lower <= id <= upper`` in id order, page by page (lazily, so a full batch stops reading).

    Args:
        store: The open store.
        src: The source.
        lower: Lowest id (None: unbounded).
        upper: Highest id (None: unbounded).
        page: Rows per query.
        job: When given, skip the ids this job already took (the anti-join finding late ids).
    """
    after: int | None = None
    while True:
        rows = _page(store, src, lower, upper, page, job, after)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]


def _page(
    store: SQLTableStore, src: ResolvedSource, lower: int | None, upper: int | None, page: int,
    job: str | None, after: int | None,
) -> list[Row]:
    t = src.table()
    ident = t.c[src.source.id]
    query = sa.select(*src.columns(t)).order_by(ident).limit(page)
    if lower is not None:
        query = query.where(ident >= sa.literal(lower, sa.BigInteger))
    if upper is not None:
        query = query.where(ident <= sa.literal(upper, sa.BigInteger))
    if after is not None:
        query = query.where(ident > sa.literal(after, sa.BigInteger))
    if job is not None:
        i = tables.items
        query = query.where(~sa.exists().where(i.c.job == job, i.c.id == ident))
    try:
        rows = store.execute(query)
    except StoreError as exc:
        raise ConfigError(
            f"Cannot read batch source {src.where()}: {str(exc).splitlines()[0]} Check that the table exists "
            f"(publish its stage first) and has the columns named in the BatchSource."
        ) from exc
    return [_checked(src, row) for row in rows]


def _checked(src: ResolvedSource, row: tuple[Any, ...]) -> Row:
    ident, item, weight = row
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise ConfigError(
            f"Batch source {src.where()}: id column {src.source.id!r} holds {type(ident).__name__} values; "
            "it must be an integer column."
        )
    return ident, item, float(weight)


def rows_of_range(store: SQLTableStore, src: ResolvedSource, job: str, range_id: int) -> list[Row]:
    """The source rows of the ids a range took (ids gone from the source are left out)."""
    t = src.table()
    i = tables.items
    query = (
        sa.select(*src.columns(t))
        .select_from(i.join(t, t.c[src.source.id] == i.c.id))
        .where(i.c.job == job, i.c.range_id == range_id)
        .order_by(i.c.id)
    )
    return [_checked(src, row) for row in store.execute(query)]
