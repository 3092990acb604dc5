"""The ``Engine`` protocol: where tasks execute. Everything else about a run is the scheduler's.

The scheduler (:mod:`pipedag.engine.scheduler`) decides each task on the driver when its inputs
are ready; a task that must run becomes a :class:`Work` item, which the engine executes where
it chooses (this thread, a thread pool, a Dask cluster) and answers with a
:class:`~pipedag.engine.task_runner.TaskRun` through a :class:`concurrent.futures.Future`.
A Work item pickles, so it can cross a process boundary.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipedag.context import running_task
from pipedag.engine.imperative import ImperativeTables
from pipedag.engine.kinds import kind_of
from pipedag.engine.task_runner import RunContext, TaskRunner

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.engine.task_runner import Decision, TaskRun
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore
    from pipedag.store.history import StageHistory


@dataclass
class Work:
    """One task to execute, with everything a worker needs.

    Attributes:
        config: The instance written to.
        run_id: The run the tables belong to.
        decision: The task's decision (cache key, reason, resolved inputs).
        history: The stage's retained versions (for reusing identical tables).
        table_owners: The stage's table-name claims; shared with the driver in-process, a
            snapshot in another process (the driver checks the claims again).
        decided_in: Seconds the decision took on the driver (part of the task's time).
    """

    config: ConfigContext
    run_id: int
    decision: Decision
    history: StageHistory
    table_owners: dict[str, tuple[str, str]]
    decided_in: float = 0.0

    def execute(self, store: SQLTableStore, blobs: FileBlobStore) -> TaskRun:
        """Run the task with ``store`` (a connection of this worker) and store its outputs."""
        self.decision.start = time.perf_counter() - self.decided_in  # clocks differ between processes
        ctx = RunContext(store, self.config, self.run_id, blobs)
        runner = TaskRunner(ctx, self.history, self.table_owners)
        node = self.decision.node
        tables = ImperativeTables(runner, node, self.decision.imperative)
        with running_task(node, self.config, self.run_id, tables):  # ConfigContext.get() etc. in the task
            return kind_of(node.task).execute(runner, self.decision)


class Engine(Protocol):
    """Executes the tasks a run's scheduler hands over.

    Attributes:
        capacity: How many tasks may execute at once.
    """

    capacity: int

    def start(self, config: ConfigContext, store: SQLTableStore, blobs: FileBlobStore) -> None:
        """Prepare workers for a run of ``config``; ``store`` is the driver's open connection.

        Raises:
            ConfigError: when this engine cannot run against the instance's store.
        """

    def submit(self, work: Work) -> Future[TaskRun]:
        """Execute ``work`` somewhere; the future holds its TaskRun or the task's exception."""

    def stop(self) -> None:
        """Release the workers and their connections (called once, also after a failure)."""


def configured_engine(config: ConfigContext, engine: str | None = None, workers: int | None = None) -> Engine:
    """The engine pipedag.yaml's ``orchestration`` names, with command-line overrides.

    Args:
        config: The instance; its ``orchestration`` block is the default.
        engine: ``sequential``, ``parallel`` or ``dask`` instead of the configured one.
        workers: Worker count instead of the configured one.

    Raises:
        ConfigError: for an unknown engine name.
    """
    from pipedag.config.context import ENGINES
    from pipedag.errors import ConfigError

    orchestration = config.orchestration
    name = engine or orchestration.engine
    count = workers or orchestration.workers
    if name == "sequential":
        from pipedag.engine.sequential import SequentialEngine

        return SequentialEngine()
    if name == "parallel":
        from pipedag.engine.parallel import ParallelEngine

        return ParallelEngine(count or 4)
    if name == "dask":
        from pipedag.engine.dask import DaskEngine

        return DaskEngine(address=orchestration.address, n_workers=count)
    raise ConfigError(f"Unknown engine {name!r}; use one of {', '.join(ENGINES)}.")
