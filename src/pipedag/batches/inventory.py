"""``Inventory``: claim and settle batches from workers outside a flow.

Each call opens the instance's store, runs one transaction and closes it again, so no
connection is held between calls (a DuckDB file stays free for other processes). A call that
collides with a concurrent one (DuckDB write conflicts, another process holding the DuckDB
file, PostgreSQL serialization failures) is retried with a short randomized back-off.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pipedag.batches import claims, tables
from pipedag.batches.batch import Batch, RangeStatus
from pipedag.batches.source import resolve
from pipedag.batches.spec import BatchSpec
from pipedag.errors import ConfigError, PipedagError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore

T = TypeVar("T")


def default_worker() -> str:
    """``host:pid``, the worker name a claim records unless one is given."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Inventory:
    """The batch inventory of one pipeline instance, kept in its metadata schema.

    The inventory's tables are created on first use.

    Args:
        config: The instance (a :class:`~pipedag.ConfigContext`).
        retry_seconds: How long a call keeps retrying conflicts with concurrent calls.

    Example::

        inv = Inventory(cfg)
        with inv.acquire(files.incremental(job="ingest", max_count=100)) as batch:
            if batch is not None:
                process(batch.items)  # success is recorded on a clean exit
    """

    def __init__(self, config: ConfigContext, *, retry_seconds: float = 60.0) -> None:
        from pipedag.config.context import ConfigContext

        if not isinstance(config, ConfigContext):
            raise ConfigError(
                f"Inventory(config) expects a ConfigContext, got {type(config).__name__}; "
                "call .get() on a PipedagConfig to obtain one."
            )
        self.config = config
        self.retry_seconds = retry_seconds
        self._ready = False

    def claim(self, spec: BatchSpec, worker: str | None = None) -> Batch | None:
        """Claim the next batch of ``spec``'s job for ``worker``; None when there is nothing to do.

        Raises:
            ConfigError: when the job exists with another kind, source or bounds, or the source
                table cannot be read.
        """
        who = claims.Claimant(worker or default_worker())
        return self._call(lambda store: claims.claim(store, spec, resolve(store, spec.source), who), own=True)

    def succeed(self, batch: Batch, result: Any = None) -> None:
        """Record that ``batch`` succeeded; ``result`` (JSON-able) is kept with the range.

        Raises:
            LeaseLostError: when another worker took the range over after the lease expired.
        """
        self._call(lambda store: claims.succeed(store, batch, result))

    def fail(self, batch: Batch, error: BaseException | str) -> None:
        """Record that ``batch`` failed with ``error`` (stored as text); after ``max_attempts`` it is exhausted.

        Raises:
            LeaseLostError: when another worker took the range over after the lease expired.
        """
        self._call(lambda store: claims.fail(store, batch, error))

    @contextmanager
    def acquire(self, spec: BatchSpec, worker: str | None = None) -> Iterator[Batch | None]:
        """Claim a batch for the block: success on a clean exit; on an exception, failure and re-raise.

        Yields None when there is nothing to do.
        """
        batch = self.claim(spec, worker)
        if batch is None:
            yield None
            return
        try:
            yield batch
        except BaseException as exc:
            try:
                self.fail(batch, exc)
            except PipedagError as record_error:  # e.g. the lease was taken over: keep the task's own error
                exc.add_note(f"(pipedag could not record the failure of {batch.describe()}: {record_error})")
            raise
        self.succeed(batch)

    def status(self, job: str | None = None) -> list[RangeStatus]:
        """One record per range (its latest attempt) of ``job``, or of every job, by job and range."""
        return self._call(lambda store: claims.status(store, job))

    def jobs(self) -> list[claims.JobInfo]:
        """Every job of the instance with its kind, source, bounds and position."""
        return self._call(claims.jobs)

    def _call(self, fn: Callable[[SQLTableStore], T], own: bool = False) -> T:
        """Run ``fn`` on a freshly opened store, in one transaction unless it runs its ``own``; retry conflicts."""
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.005
        while True:
            store = self.config.create_store()
            try:
                with store:
                    if not self._ready:
                        tables.ensure_tables(store)
                        self._ready = True
                    if own:
                        return fn(store)
                    with store.transaction():
                        return fn(store)
            except Exception as exc:
                if not store.is_transient(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0, pause))  # jitter keeps colliding workers from colliding again
            pause = min(pause * 2, 0.5)
