"""What a claim hands out (``Batch``) and what ``Inventory.status`` reports (``RangeStatus``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: Statuses of a range; ``claimed`` may be held by a live worker or wait for its lease to expire.
STATUSES = ("claimed", "succeeded", "failed", "exhausted")


@dataclass(frozen=True)
class Batch:
    """A range of catalog items claimed by one worker.

    Attributes:
        job: The job it belongs to.
        range_id: Number of the range within the job (1, 2, ...); a retry keeps it.
        ids: The items' ids, ascending.
        items: The ``item`` column of those rows (the ids when the source names no item column).
        id_min: Lowest id of the range.
        id_max: Highest id of the range.
        weight: Summed weight of the items (their count without a weight column).
        attempt: 1 for a first claim, 2 for the first retry, ...
        oversize: The single item weighs more than ``max_weight``.
        worker: Who claimed it.
        max_attempts: The job's ``max_attempts`` when the batch was claimed.
        token: Identifies this claim; a worker whose lease was taken over holds a stale one.
        run_id: The flow run that claimed it (None outside a flow).
    """

    job: str
    range_id: int
    ids: tuple[int, ...]
    items: tuple[Any, ...]
    id_min: int
    id_max: int
    weight: float
    attempt: int
    oversize: bool
    worker: str | None
    max_attempts: int
    token: str = field(repr=False)
    run_id: int | None = None

    @property
    def count(self) -> int:
        """Number of items."""
        return len(self.ids)

    def describe(self) -> str:
        """``range 3 (ids 20..29, attempt 2) of job 'ingest'``, for messages."""
        return (
            f"range {self.range_id} (ids {self.id_min}..{self.id_max}, attempt {self.attempt}) of job {self.job!r}"
        )


@dataclass(frozen=True)
class RangeStatus:
    """One range of a job with its latest attempt, as ``Inventory.status`` reports it."""

    job: str
    range_id: int
    id_min: int
    id_max: int
    count: int
    weight: float
    status: str
    attempt: int
    worker: str | None
    error: str | None
    oversize: bool
    lease_until: dt.datetime
    finished_at: dt.datetime | None
    run_id: int | None
