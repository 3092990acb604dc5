"""Reading the run history back: recent runs and each run's per-task decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from pipedag.store import metadata as md
from pipedag.store.base import SQLTableStore


@dataclass(frozen=True)
class RunInfo:
    """One row of the ``runs`` table."""

    run_id: int
    flow: str
    instance_id: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None

    @property
    def seconds(self) -> float | None:
        """Wall-clock duration, when the run ended."""
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class TaskRunInfo:
    """One task's decision in one run."""

    run_id: int
    stage: str
    task: str
    decision: str
    reason: str
    rows: int | None
    seconds: float


def recent_runs(store: SQLTableStore, limit: int = 10) -> list[RunInfo]:
    """The latest ``limit`` runs of the store's instance, newest first."""
    r = md.runs
    query = (
        sa.select(r.c.run_id, r.c.flow, r.c.instance_id, r.c.status, r.c.started_at, r.c.ended_at)
        .order_by(r.c.run_id.desc())
        .limit(limit)
    )
    return [RunInfo(int(row[0]), *row[1:]) for row in store.execute(query)]


def task_runs(store: SQLTableStore, run_id: int) -> list[TaskRunInfo]:
    """The per-task decisions of run ``run_id`` in execution order (empty if unknown)."""
    t = md.task_runs
    query = (
        sa.select(t.c.run_id, t.c.stage, t.c.task, t.c.decision, t.c.reason, t.c.row_count, t.c.seconds)
        .where(t.c.run_id == run_id)
        .order_by(t.c.position)
    )
    return [TaskRunInfo(int(row[0]), *row[1:]) for row in store.execute(query)]


def last_task_states(store: SQLTableStore) -> dict[str, str]:
    """The most recent decision of every task ever run, keyed ``stage.task``."""
    t = md.task_runs
    latest = sa.select(t.c.stage, t.c.task, sa.func.max(t.c.run_id).label("run_id")).group_by(t.c.stage, t.c.task)
    sub = latest.subquery()
    query = sa.select(t.c.stage, t.c.task, t.c.decision).join(
        sub, sa.and_(t.c.stage == sub.c.stage, t.c.task == sub.c.task, t.c.run_id == sub.c.run_id)
    )
    return {f"{stage}.{task}": decision for stage, task, decision in store.execute(query)}
