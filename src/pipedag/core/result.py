"""``Result``: what a flow run did, task by task, and access to its outputs."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipedag.core.task import TaskNode, TaskOutput
from pipedag.errors import StateError, TaskError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.context import FlowLike


# Seam: reading stored tables and blobs is the engine's and the store's work, above core; the engine
# registers the reader Result.get() uses (pipedag.engine.io).
_readers: list[Callable[[ConfigContext, Any, Any], Any]] = []


def register_reader(reader: Callable[[ConfigContext, Any, Any], Any]) -> None:
    """Make ``Result.get`` read an output's stored tables with ``reader(config, value, as_type)``."""
    _readers[:] = [reader]


class TaskState(enum.Enum):
    """How a task ended in a run."""

    RAN = "ran"
    CACHE_VALID = "cache-valid"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class TaskOutcome:
    """One task's part of a run: decision, reason, size, time and outputs."""

    label: str
    stage: str
    state: TaskState
    reason: str
    rows: int | None = None
    seconds: float = 0.0
    outputs: Any = None
    exception: BaseException | None = None
    #: What the task did beyond its row count, shown under the run summary (e.g. an incremental
    #: task's due keys and rows in/out).
    detail: str | None = None
    #: Wall-clock time (``time.time()``) the outcome was made, i.e. when the task finished.
    finished_at: float = field(default_factory=time.time)


class Result:
    """The outcome of ``flow.run()``.

    Attributes:
        successful: True when every task ran or was cache-valid and every stage was published.
        exception: The first exception a task raised, if any.
        run_id: Monotonic id of this run in the instance's metadata.
    """

    def __init__(
        self,
        flow: FlowLike,
        config: ConfigContext,
        outcomes: dict[TaskNode, TaskOutcome],
        run_id: int,
        exception: BaseException | None,
    ) -> None:
        self.flow = flow
        self.config = config
        self.run_id = run_id
        self.exception = exception
        self._outcomes = outcomes
        self.successful = exception is None and all(
            o.state in (TaskState.RAN, TaskState.CACHE_VALID) for o in outcomes.values()
        )

    @property
    def outcomes(self) -> list[TaskOutcome]:
        """Per-task outcomes in execution order."""
        return list(self._outcomes.values())

    @property
    def task_states(self) -> dict[str, TaskState]:
        """State of every task, keyed ``stage.task``."""
        return {o.label: o.state for o in self._outcomes.values()}

    def state(self, output: TaskOutput) -> TaskState:
        """The state of the task that produced ``output``."""
        return self._outcome(output).state

    def _outcome(self, output: TaskOutput) -> TaskOutcome:
        if not isinstance(output, TaskOutput):
            raise TypeError(f"Expected the output of a task call inside the flow, got {type(output).__name__}.")
        outcome = self._outcomes.get(output.node)
        if outcome is None:
            raise StateError(f"Task {output.node.label!r} is not part of flow {self.flow.name!r}.")
        return outcome

    def _unpublished_because(self, node: TaskNode) -> TaskOutcome | None:
        """The first task that kept ``node``'s stage from being published in this run, if any.

        A stage is published only when all its tasks succeed; otherwise what its tasks wrote is dropped.
        """
        for task in node.stage.tasks:
            outcome = self._outcomes.get(task)
            if outcome is not None and outcome.state not in (TaskState.RAN, TaskState.CACHE_VALID):
                return outcome
        return None

    def get(self, output: TaskOutput, as_type: Any = None) -> Any:
        """Read a task output after the run; tables come back as ``as_type`` (pandas by default).

        Args:
            output: What the task call returned while wiring (indexed as needed).
            as_type: ``pandas.DataFrame`` (default), ``polars.DataFrame``, ``pyarrow.Table``, ...

        Raises:
            StateError: if the task failed or was skipped, or its stage was not published.
        """
        outcome = self._outcome(output)
        if outcome.state not in (TaskState.RAN, TaskState.CACHE_VALID):
            raise StateError(f"Task {outcome.label} {outcome.state.value}; it has no output to get.")
        culprit = self._unpublished_because(output.node)
        if culprit is not None:
            raise StateError(
                f"Task {outcome.label} {outcome.state.value}, but stage {outcome.stage!r} was not published in "
                f"run {self.run_id} because task {culprit.label} {culprit.state.value}; the outputs of this run's "
                "tasks in that stage were discarded. Fix that task and run again."
            )
        value = outcome.outputs
        for key in output.path:
            value = value[key]
        try:
            return _readers[0](self.config, value, as_type)
        except TaskError as exc:
            raise TaskError(f"result.get({output!r}): {exc}") from None

