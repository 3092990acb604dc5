"""Reading an instance for the page: a read-only connection per request, released at once.

Nothing here writes. A DuckDB file that a run holds cannot be opened even for reading; that
is reported as :class:`StoreBusy` so the page can say so and try again later.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pipedag.cache.keys import Ingredients
from pipedag.errors import PipedagError, StoreError
from pipedag.store import metadata as md
from pipedag.store.history import TaskRecord, decode_outputs

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore


class StoreBusy(PipedagError):
    """The database cannot be read right now because another process (a run) holds it."""


@contextmanager
def reading(config: ConfigContext) -> Iterator[SQLTableStore]:
    """An open read-only store of ``config``, closed when the block ends.

    Raises:
        StoreBusy: when another process holds the database (a run on a DuckDB file).
        StoreError: when the database cannot be opened for another reason.
    """
    store = config.create_store()
    try:
        store.open(read_only=True)
    except StoreError as exc:
        if store.is_transient(exc):
            raise StoreBusy(
                f"The database of instance {config.instance_name!r} is in use by another process (a run holds it); "
                "the page shows what it read last and refreshes when the run releases it."
            ) from exc
        raise
    try:
        yield store
    finally:
        store.close()


def signature(config: ConfigContext) -> tuple[tuple[int, int] | None, ...] | None:
    """Size and modification time of an embedded database's files (None: a server, always read).

    Equal signatures mean nothing was written in between, so an answer may be reused without
    opening the file, which is the slow part of a request on a large DuckDB file.
    """
    files = config.create_store().database_files()
    if not files:
        return None
    stats: list[tuple[int, int] | None] = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            stats.append(None)
            continue
        stats.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


@dataclass(frozen=True)
class Catalog:
    """Which metadata tables and columns exist (an instance that never ran has none)."""

    columns: frozenset[tuple[str, str]]

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the metadata ``table`` (and its ``column``) exists."""
        if column is not None:
            return (table, column) in self.columns
        return any(t == table for t, _ in self.columns)


def catalog(store: SQLTableStore) -> Catalog:
    """The metadata tables and columns present in the store (one catalog query)."""
    query = sa.text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :s")
    rows = store.execute_sql(*store.render(query.bindparams(s=store.metadata_schema)))
    return Catalog(frozenset((str(t), str(c)) for t, c in rows))


@dataclass(frozen=True)
class RunRow:
    """One run with its decision counts."""

    run_id: int
    flow: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    counts: dict[str, int]


def runs(store: SQLTableStore, limit: int = 200) -> list[RunRow]:
    """The latest ``limit`` runs of the instance, newest first, with counts per decision."""
    r, t = md.runs, md.task_runs
    rows = store.execute(
        sa.select(r.c.run_id, r.c.flow, r.c.status, r.c.started_at, r.c.ended_at)
        .where(r.c.instance_id == store.config.instance_id)
        .order_by(r.c.run_id.desc())
        .limit(limit)
    )
    if not rows:
        return []
    counts: dict[int, dict[str, int]] = {}
    oldest = min(int(row[0]) for row in rows)
    query = sa.select(t.c.run_id, t.c.decision, sa.func.count()).where(t.c.run_id >= oldest)
    for run_id, decision, n in store.execute(query.group_by(t.c.run_id, t.c.decision)):
        counts.setdefault(int(run_id), {})[str(decision)] = int(n)
    return [RunRow(int(row[0]), row[1], row[2], row[3], row[4], counts.get(int(row[0]), {})) for row in rows]


@dataclass(frozen=True)
class TaskRunRow:
    """One task's decision in one run."""

    position: int
    stage: str
    task: str
    decision: str
    reason: str
    rows: int | None
    seconds: float
    started_at: dt.datetime | None

    @property
    def label(self) -> str:
        """``stage.task``."""
        return f"{self.stage}.{self.task}"


def task_runs(store: SQLTableStore, cat: Catalog, run_id: int) -> list[TaskRunRow]:
    """The tasks of run ``run_id`` in execution order (start times when the store records them)."""
    t = md.task_runs
    started = t.c.started_at if cat.has("task_runs", "started_at") else sa.null()
    query = sa.select(t.c.position, t.c.stage, t.c.task, t.c.decision, t.c.reason, t.c.row_count, t.c.seconds, started)
    rows = store.execute(query.where(t.c.run_id == run_id).order_by(t.c.position))
    return [TaskRunRow(int(r[0]), *r[1:]) for r in rows]


def latest_run_with_tasks(store: SQLTableStore, before: int) -> int | None:
    """The newest run before ``before`` that recorded its tasks (the skeleton of a running run)."""
    t = md.task_runs
    (found,) = store.execute(sa.select(sa.func.max(t.c.run_id)).where(t.c.run_id < before))[0]
    return None if found is None else int(found)


def previous_decisions(store: SQLTableStore, run_id: int) -> dict[str, tuple[int, str, str]]:
    """Per ``stage.task``, its decision in the newest earlier run that ran it: (run, decision, reason)."""
    t = md.task_runs
    latest = (
        sa.select(t.c.stage, t.c.task, sa.func.max(t.c.run_id).label("run_id"))
        .where(t.c.run_id < run_id)
        .group_by(t.c.stage, t.c.task)
        .subquery()
    )
    query = sa.select(t.c.stage, t.c.task, t.c.run_id, t.c.decision, t.c.reason).join(
        latest, sa.and_(t.c.stage == latest.c.stage, t.c.task == latest.c.task, t.c.run_id == latest.c.run_id)
    )
    return {f"{s}.{k}": (int(r), d, why) for s, k, r, d, why in store.execute(query)}


@dataclass(frozen=True)
class Version:
    """A task record in the stage version published by run ``run_id``."""

    run_id: int
    record: TaskRecord


def records_up_to(store: SQLTableStore, run_id: int | None) -> dict[str, list[Version]]:
    """Every retained task record published by run ``run_id`` or earlier, per ``stage.task``, newest first.

    ``None`` means all retained records.
    """
    t = md.task_records
    query = sa.select(t.c.stage, t.c.run_id, t.c.task, t.c.cache_key, t.c.ingredients, t.c.outputs)
    if run_id is not None:
        query = query.where(t.c.run_id <= run_id)
    found: dict[str, list[Version]] = {}
    for stage, version, task, key, ingredients, outputs in store.execute(query):
        record = TaskRecord(
            task, key, Ingredients.from_json(json.loads(ingredients)), decode_outputs(json.loads(outputs))
        )
        found.setdefault(f"{stage}.{task}", []).append(Version(int(version), record))
    for versions in found.values():
        versions.sort(key=lambda v: v.run_id, reverse=True)
    return found


def published(store: SQLTableStore) -> dict[str, tuple[int, list[TaskRecord]]]:
    """Each stage's published version: (run id, its task records), stages sorted by name."""
    v, t = md.stage_versions, md.task_records
    current = sa.select(v.c.stage, sa.func.max(v.c.run_id).label("run_id")).group_by(v.c.stage).subquery()
    query = (
        sa.select(current.c.stage, current.c.run_id, t.c.task, t.c.cache_key, t.c.ingredients, t.c.outputs)
        .select_from(current)
        .outerjoin(t, sa.and_(t.c.stage == current.c.stage, t.c.run_id == current.c.run_id))
        .order_by(current.c.stage, t.c.task)
    )
    stages: dict[str, tuple[int, list[TaskRecord]]] = {}
    for stage, version, task, key, ingredients, outputs in store.execute(query):
        records = stages.setdefault(stage, (int(version), []))[1]
        if task is not None:
            ingredients_ = Ingredients.from_json(json.loads(ingredients))
            records.append(TaskRecord(task, key, ingredients_, decode_outputs(json.loads(outputs))))
    return stages


def preview(
    store: SQLTableStore, stage: str, table: str, offset: int, limit: int
) -> tuple[list[str], list[tuple[Any, ...]], int | None]:
    """Rows ``offset`` to ``offset + limit`` of a published table: (columns, rows, total rows).

    Only tables the metadata names can be read; the query is built from quoted identifiers
    and bound parameters, ordered by the primary key when the table has one.

    Raises:
        KeyError: when the stage has no published table of that name.
    """
    records = published(store).get(stage, (0, []))[1]
    ref = next((t for r in records for t in r.tables() if t.name == table), None)
    if ref is None:
        raise KeyError(f"Stage {stage!r} has no published table {table!r}.")
    target = store.sa_table(ref)
    order = [target.c[c] for c in ref.primary_key if c in target.c]
    query = sa.select(target).order_by(*order).offset(offset).limit(limit)
    rows = store.execute_sql(*store.render(query))
    return [c.name for c in ref.columns], rows, ref.rows
