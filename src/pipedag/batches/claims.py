"""The inventory's transactions: claim the next batch, record its outcome, report ranges.

:func:`claim` runs its own transactions; the others run inside one the caller opens. A
claim first updates the job's row, which serializes the claims of one job across threads and
processes; everything it reads afterwards is therefore current.

The next batch of a job is, in this order:

1. the first ``failed`` range with fewer than ``max_attempts`` attempts (same ids, attempt + 1);
2. the first ``claimed`` range whose lease expired, or whose flow run is known dead;
3. new items in id order: the longest run of untaken ids within the bounds. Ids above the
   job's position are read with an index range scan (O(batch)); ids committed late below it
   are found with an anti-join against the ids the job took, which scans the job's range and
   therefore runs only every ``LATE_SCAN_EVERY`` claims and whenever nothing lies above.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pipedag.batches import tables
from pipedag.batches.batch import Batch, RangeStatus
from pipedag.batches.source import PAGE, ResolvedSource, Row, candidates, rows_of_range
from pipedag.batches.spec import BACKFILL, BatchSpec
from pipedag.errors import ConfigError, LeaseLostError, StateError, StoreError
from pipedag.log import get_logger
from pipedag.store.base import SQLTableStore

#: A job looks for ids committed late below its position at least once per this many claims.
LATE_SCAN_EVERY = 50


@dataclass(frozen=True)
class _Job:
    """The job's row as the claim locked it."""

    position: int | None
    claims: int
    scanned_at_claim: int
    range_count: int
    now: dt.datetime


@dataclass(frozen=True)
class Claimant:
    """Who claims: a worker name, and the flow run it belongs to (a live run knows older runs are dead)."""

    worker: str | None
    run_id: int | None = None


def utc_now() -> sa.ColumnElement[dt.datetime]:
    """The database's current time in UTC: one clock for every worker, whatever machine it runs on."""
    # A literal, not a parameter: DuckDB refuses parameters in a RETURNING clause.
    return sa.func.timezone(sa.literal_column("'UTC'"), sa.func.now(), type_=sa.DateTime)


def claim(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant) -> Batch | None:
    """Claim the next batch of ``spec``'s job (see the module docstring), or None when there is nothing to do.

    Runs its own transactions. A new job's row is created first, in a transaction of its own:
    on DuckDB two transactions inserting the same new row both proceed until one commits, so a
    claim creating the row itself would not be serialized against a concurrent first claim.
    """
    for _ in range(2):
        with store.transaction():
            job = _lock_job(store, spec, src)
            if job is not None:
                return _next(store, spec, src, who, job)
        _create_job(store, spec, src)
    raise StateError(f"Batch job {spec.job!r} vanished from the inventory while it was created (metadata cleared?).")


class _Rollback(Exception):
    """Ends a peek's transaction without keeping anything."""


def peek(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant) -> Batch | None:
    """The batch :func:`claim` would take now, without taking it (its transaction is rolled back)."""
    found: list[Batch | None] = []
    try:
        with store.transaction():
            _insert_job(store, spec, src)
            job = _lock_job(store, spec, src)
            assert job is not None
            found.append(_next(store, spec, src, who, job))
            raise _Rollback
    except _Rollback:
        pass
    return found[0]


def _next(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant, job: _Job) -> Batch | None:
    batch = _retake(store, spec, src, who, job.now)
    return batch if batch is not None else _take_new(store, spec, src, who, job)


def _create_job(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource) -> None:
    try:
        with store.transaction():
            _insert_job(store, spec, src)
    except StoreError:
        j = tables.jobs
        if not store.execute(sa.select(j.c.job).where(j.c.job == spec.job)):
            raise  # else a concurrent first claim created it, which is all we wanted


def _insert_job(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource) -> None:
    j = tables.jobs
    store.execute(
        postgresql.insert(j)
        .values(
            job=spec.job, kind=spec.kind, source=src.label, id_min=spec.id_min, id_max=spec.id_max,
            position=None, claims=0, scanned_at_claim=0, range_count=0, created_at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=[j.c.job])
    )


def _lock_job(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource) -> _Job | None:
    """Lock the job's row (None when it does not exist yet) and check it matches ``spec``.

    Updating the row serializes the job's claims: PostgreSQL makes the next claimer wait for the
    row lock, DuckDB fails it with a write conflict that the caller retries.
    """
    j = tables.jobs
    rows = store.execute(
        j.update()
        .where(j.c.job == spec.job)
        .values(claims=j.c.claims + 1)
        .returning(
            j.c.kind, j.c.source, j.c.id_min, j.c.id_max, j.c.position, j.c.claims, j.c.scanned_at_claim,
            j.c.range_count, utc_now(),
        )
    )
    if not rows:
        return None
    ((kind, source, id_min, id_max, position, claims, scanned, range_count, now),) = rows
    if (kind, source, id_min, id_max) != (spec.kind, src.label, spec.id_min, spec.id_max):
        bounds = f" over ids {id_min}..{id_max}" if kind == BACKFILL else ""
        raise ConfigError(
            f"Batch job {spec.job!r} exists as {kind} job{bounds} on {source}; it is now asked for as "
            f"{spec.describe()} on {src.label}. A job keeps its kind, source and bounds: give the new one "
            "its own job name."
        )
    return _Job(position, claims, scanned, range_count, now.replace(tzinfo=None))


# ------------------------------------------------------------------ retries


def _retake(
    store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant, now: dt.datetime
) -> Batch | None:
    r = tables.ranges
    rows = store.execute(
        sa.select(r.c.range_id, r.c.status, r.c.attempt, r.c.lease_until, r.c.run_id, r.c.token)
        .where(r.c.job == spec.job, r.c.status.in_(["failed", "claimed"]))
        .order_by(r.c.range_id)
    )
    failed = [row for row in rows if row[1] == "failed"]
    expired = [row for row in rows if row[1] == "claimed" and _dead(row[3], row[4], who, now)]
    for range_id, status, attempt, _, _, token in [*failed, *expired]:
        if attempt >= spec.max_attempts:
            why = None if status == "failed" else f"lease expired on attempt {attempt}"
            _exhaust(store, spec, range_id, token, status, now, why)
            continue
        batch = _reclaim(store, spec, src, who, now, range_id, token, status)
        if batch is not None:
            return batch
    return None


def _dead(lease_until: dt.datetime, run_id: int | None, who: Claimant, now: dt.datetime) -> bool:
    """A claim is dead when its lease expired, or when a live flow run sees an older run's claim.

    Runs of an instance hold its lock, so a claim of another run belongs to one that ended.
    """
    if lease_until <= now:
        return True
    return who.run_id is not None and run_id is not None and run_id != who.run_id


def _exhaust(
    store: SQLTableStore, spec: BatchSpec, range_id: int, token: str, status: str, now: dt.datetime, why: str | None
) -> None:
    r = tables.ranges
    values: dict[str, Any] = {"status": "exhausted", "finished_at": now}
    if why is not None:
        values["error"] = why
    store.execute(
        r.update().where(r.c.job == spec.job, r.c.range_id == range_id, r.c.token == token, r.c.status == status)
        .values(**values)
    )
    get_logger().warning(
        "batch range exhausted", job=spec.job, range_id=range_id, max_attempts=spec.max_attempts, reason=why or status
    )


def _reclaim(
    store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant, now: dt.datetime,
    range_id: int, token: str, status: str,
) -> Batch | None:
    r = tables.ranges
    new_token = uuid.uuid4().hex
    # Conditional on the state read above: a worker may have recorded its outcome in between.
    updated = store.execute(
        r.update()
        .where(r.c.job == spec.job, r.c.range_id == range_id, r.c.token == token, r.c.status == status)
        .values(
            status="claimed", attempt=r.c.attempt + 1, worker=who.worker, token=new_token, run_id=who.run_id,
            lease_until=now + dt.timedelta(seconds=spec.lease), claimed_at=now, finished_at=None, error=None,
        )
        .returning(r.c.attempt, r.c.id_min, r.c.id_max, r.c.oversize)
    )
    if not updated:
        return None
    ((attempt, id_min, id_max, oversize),) = updated
    rows = rows_of_range(store, src, spec.job, range_id)
    return _batch(spec, who, range_id, rows, attempt, bool(oversize), new_token, (id_min, id_max))


# ---------------------------------------------------------------- new items


def _take_new(store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, who: Claimant, job: _Job) -> Batch | None:
    scan = job.position is not None and job.claims - job.scanned_at_claim >= LATE_SCAN_EVERY
    chosen, oversize = _pick(_new_items(store, spec, src, job.position, late=scan), spec)
    if not chosen and not scan and job.position is not None:
        scan = True  # nothing above the position: the one place left to look is below it
        chosen, oversize = _pick(_new_items(store, spec, src, job.position, late=True), spec)
    if scan:
        j = tables.jobs
        store.execute(j.update().where(j.c.job == spec.job).values(scanned_at_claim=job.claims))
    if not chosen:
        return None
    return _record(store, spec, who, job, chosen, oversize)


def _new_items(
    store: SQLTableStore, spec: BatchSpec, src: ResolvedSource, position: int | None, late: bool
) -> Iterator[Row]:
    """Untaken ids in id order: late ones below the position (when scanning), then those above it."""
    page = min(spec.max_count or PAGE, PAGE)
    if late and position is not None:
        yield from candidates(store, src, spec.id_min, position, page, job=spec.job)
    lower = spec.id_min if position is None else position + 1
    yield from candidates(store, src, lower, spec.id_max, page, job=None)


def _pick(rows: Iterable[Row], spec: BatchSpec) -> tuple[list[Row], bool]:
    """The longest prefix within ``max_weight`` and ``max_count``; an overweight first item goes alone."""
    chosen: list[Row] = []
    total = 0.0
    for row in rows:
        weight = row[2]
        if spec.max_weight is not None and total + weight > spec.max_weight:
            if not chosen and weight > spec.max_weight:
                return [row], True
            break
        chosen.append(row)
        total += weight
        if spec.max_count is not None and len(chosen) >= spec.max_count:
            break
    return chosen, False


def _record(
    store: SQLTableStore, spec: BatchSpec, who: Claimant, job: _Job, chosen: list[Row], oversize: bool
) -> Batch:
    r, j = tables.ranges, tables.jobs
    now, range_id = job.now, job.range_count + 1
    ids = [row[0] for row in chosen]
    token = uuid.uuid4().hex
    store.execute(
        r.insert().values(
            job=spec.job, range_id=range_id, id_min=ids[0], id_max=ids[-1], item_count=len(ids),
            weight=sum(row[2] for row in chosen), oversize=oversize, status="claimed", attempt=1,
            worker=who.worker, token=token, run_id=who.run_id, lease_until=now + dt.timedelta(seconds=spec.lease),
            claimed_at=now,
        )
    )
    store.execute(_insert_items(spec.job, range_id, ids))
    position = ids[-1] if job.position is None else max(job.position, ids[-1])
    store.execute(j.update().where(j.c.job == spec.job).values(position=position, range_count=range_id))
    return _batch(spec, who, range_id, chosen, 1, oversize, token, (ids[0], ids[-1]))


def _insert_items(job: str, range_id: int, ids: list[int]) -> sa.Insert:
    """One INSERT for all ids of a range: an array parameter, whatever the batch size."""
    i = tables.items
    array = sa.cast(sa.bindparam("ids", ids, type_=sa.ARRAY(sa.BigInteger)), sa.ARRAY(sa.BigInteger))
    select = sa.select(sa.literal(job, sa.Text), sa.func.unnest(array), sa.literal(range_id, sa.BigInteger))
    return i.insert().from_select(["job", "id", "range_id"], select)


def _batch(
    spec: BatchSpec, who: Claimant, range_id: int, rows: list[Row], attempt: int, oversize: bool, token: str,
    bounds: tuple[int, int],
) -> Batch:
    return Batch(
        job=spec.job, range_id=range_id, ids=tuple(r[0] for r in rows), items=tuple(r[1] for r in rows),
        id_min=bounds[0], id_max=bounds[1], weight=sum(r[2] for r in rows), attempt=attempt, oversize=oversize,
        worker=who.worker, max_attempts=spec.max_attempts, token=token, run_id=who.run_id,
    )


# ------------------------------------------------------------------ outcomes


def succeed(store: SQLTableStore, batch: Batch, result: Any = None) -> None:
    """Record that ``batch`` succeeded (with an optional JSON-able result).

    Raises:
        LeaseLostError: when another worker took the range over, or its outcome is already recorded.
    """
    text = None if result is None else json.dumps(result, default=str)
    _finish(store, batch, "succeeded", {"result": text, "error": None})


def fail(store: SQLTableStore, batch: Batch, error: BaseException | str) -> str:
    """Record that ``batch`` failed; returns the new status (``failed`` or ``exhausted``).

    Raises:
        LeaseLostError: when another worker took the range over, or its outcome is already recorded.
    """
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    status = "exhausted" if batch.attempt >= batch.max_attempts else "failed"
    _finish(store, batch, status, {"error": text})
    if status == "exhausted":
        get_logger().warning(
            "batch range exhausted", job=batch.job, range_id=batch.range_id, max_attempts=batch.max_attempts,
            reason=text,
        )
    return status


def _finish(store: SQLTableStore, batch: Batch, status: str, values: dict[str, Any]) -> None:
    r = tables.ranges
    done = store.execute(
        r.update()
        .where(r.c.job == batch.job, r.c.range_id == batch.range_id, r.c.token == batch.token, r.c.status == "claimed")
        .values(status=status, finished_at=utc_now(), **values)
        .returning(r.c.range_id)
    )
    if not done:
        raise LeaseLostError(_lost(store, batch, status))


def _lost(store: SQLTableStore, batch: Batch, outcome: str) -> str:
    r = tables.ranges
    rows = store.execute(
        sa.select(r.c.status, r.c.attempt, r.c.worker, r.c.token)
        .where(r.c.job == batch.job, r.c.range_id == batch.range_id)
    )
    what = f"Cannot record {outcome!r} for {batch.describe()} claimed by worker {batch.worker!r}"
    if not rows:
        return f"{what}: the inventory has no such range (was the metadata cleared?)."
    ((status, attempt, worker, token),) = rows
    if token == batch.token:
        return f"{what}: its outcome is already recorded as {status!r}; record it once."
    return (
        f"{what}: its lease expired and the range was taken over (now attempt {attempt} by worker "
        f"{worker!r}, status {status!r}), so this result is discarded. Give the job a longer lease= "
        "if its batches take that long."
    )


# -------------------------------------------------------------------- status


def status(store: SQLTableStore, job: str | None = None) -> list[RangeStatus]:
    """Every range (latest attempt) of ``job``, or of all jobs, ordered by job and range."""
    r = tables.ranges
    query = sa.select(
        r.c.job, r.c.range_id, r.c.id_min, r.c.id_max, r.c.item_count, r.c.weight, r.c.status, r.c.attempt,
        r.c.worker, r.c.error, r.c.oversize, r.c.lease_until, r.c.finished_at, r.c.run_id,
    ).order_by(r.c.job, r.c.range_id)
    if job is not None:
        query = query.where(r.c.job == job)
    return [
        RangeStatus(
            job=row[0], range_id=int(row[1]), id_min=int(row[2]), id_max=int(row[3]), count=int(row[4]),
            weight=float(row[5]), status=row[6], attempt=int(row[7]), worker=row[8], error=row[9],
            oversize=bool(row[10]), lease_until=row[11], finished_at=row[12], run_id=row[13],
        )
        for row in store.execute(query)
    ]


@dataclass(frozen=True)
class JobInfo:
    """A job's kind, source, bounds and position."""

    job: str
    kind: str
    source: str
    id_min: int | None
    id_max: int | None
    position: int | None


def jobs(store: SQLTableStore) -> list[JobInfo]:
    """Every job of the instance, by name."""
    j = tables.jobs
    rows = store.execute(
        sa.select(j.c.job, j.c.kind, j.c.source, j.c.id_min, j.c.id_max, j.c.position).order_by(j.c.job)
    )
    return [JobInfo(*row) for row in rows]
