"""The sequential engine (the default): one task at a time, in this thread, on the driver's connection."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING

from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.core.result import Result
    from pipedag.engine.base import Work
    from pipedag.engine.events import RunListener
    from pipedag.engine.task_runner import TaskRun
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore


class SequentialEngine:
    """Executes tasks one by one in wiring order, in this thread, on the driver's store connection.

    The order (and therefore the log) is the flow's wiring order; stages are published as soon
    as their last task is done, before the next stage's first task starts.

    Args:
        config: The instance :meth:`run` runs against (only needed for :meth:`run`).
        reporter: The progress display :meth:`run` uses (see :func:`pipedag.engine.run.run_flow`).
    """

    capacity = 1

    def __init__(self, config: ConfigContext | None = None, reporter: RunListener | None = None) -> None:
        self.config = config
        self.reporter = reporter
        self._store: SQLTableStore | None = None
        self._blobs: FileBlobStore | None = None

    def run(self, flow: Flow, *, fail_fast: bool, stages: Sequence[str] | None = None) -> Result:
        """Run ``flow`` on the config given at construction (``--stage`` subsets with ``stages``).

        Raises:
            ConfigError: when the engine was created without a config.
        """
        from pipedag.engine.run import run_flow

        if self.config is None:
            raise ConfigError("SequentialEngine().run() needs SequentialEngine(config); or call flow.run(config).")
        return run_flow(flow, self.config, self, fail_fast=fail_fast, stages=stages, reporter=self.reporter)

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
