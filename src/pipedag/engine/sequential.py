"""The sequential engine (the default): one task at a time, in this thread, on the driver's connection."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.engine.base import Work
    from pipedag.engine.task_runner import TaskRun
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore


class SequentialEngine:
    """Executes tasks one by one in wiring order, in this thread, on the driver's store connection.

    The order (and therefore the log) is the flow's wiring order; stages are published as soon
    as their last task is done, before the next stage's first task starts.
    """

    capacity = 1

    def __init__(self) -> None:
        self._store: SQLTableStore | None = None
        self._blobs: FileBlobStore | None = None

    def start(self, config: ConfigContext, store: SQLTableStore, blobs: FileBlobStore) -> None:
        """Use the driver's open connection and blob store."""
        self._store, self._blobs = store, blobs

    def submit(self, work: Work) -> Future[TaskRun]:
        """Execute ``work`` right away; the returned future is already done."""
        assert self._store is not None and self._blobs is not None, "start() the engine first"
        future: Future[TaskRun] = Future()
        try:
            future.set_result(work.execute(self._store, self._blobs))
        except Exception as exc:  # the task's own error travels in the future, as with other engines
            future.set_exception(exc)
        return future

    def stop(self) -> None:
        """Forget the driver's connection."""
        self._store = self._blobs = None

    def __repr__(self) -> str:
        return "SequentialEngine()"
