"""Where a running task can ask about its run: ``pipedag.context`` (as in pydiverse.pipedag).

Inside a task function::

    from pipedag.context import ConfigContext, RunContext, TaskContext

    cfg = ConfigContext.get()          # the instance the task runs on
    TaskContext.get().task.name        # the task itself, with .stage
    RunContext.get().run_id            # the run

:class:`StageLockContext` (keep the instance locked after a run, so that ``result.get``
reads what the run produced) is re-exported here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pipedag.config.context import ConfigContext
from pipedag.errors import StateError
from pipedag.store.locks import StageLockContext

if TYPE_CHECKING:
    from pipedag.core.flow import Flow
    from pipedag.core.task import TaskNode

T = TypeVar("T")

__all__ = ["ConfigContext", "RunContext", "StageLockContext", "TaskContext"]


@dataclass(frozen=True)
class RunContext:
    """The flow run a task belongs to.

    Attributes:
        flow: The flow being run.
        config: The instance it runs on.
        run_id: The run's id in the instance's metadata.
    """

    flow: Flow | None
    config: ConfigContext
    run_id: int

    @classmethod
    def get(cls) -> RunContext:
        """The run of the task executing right now.

        Raises:
            StateError: outside a running task.
        """
        return _current(_run, "RunContext")


@dataclass(frozen=True)
class TaskContext:
    """The task executing right now.

    Attributes:
        task: The task call (``.name``, ``.label``, ``.stage``, ``.task`` for the decorated function).
        state: Scratch space of the engine for this task (e.g. imperatively materialized tables).
    """

    task: TaskNode
    state: Any = None

    @classmethod
    def get(cls) -> TaskContext:
        """The context of the task executing right now.

        Raises:
            StateError: outside a running task.
        """
        return _current(_task, "TaskContext")

    @classmethod
    def current(cls) -> TaskContext | None:
        """Like :meth:`get`, but None outside a running task."""
        return _task.get()


_run: ContextVar[RunContext | None] = ContextVar("pipedag_run", default=None)
_task: ContextVar[TaskContext | None] = ContextVar("pipedag_task", default=None)


def _current(var: ContextVar[T | None], what: str) -> T:
    value = var.get()
    if value is None:
        raise StateError(f"{what}.get() works only inside a task while a flow runs.")
    return value


@contextmanager
def running_task(node: TaskNode, config: ConfigContext, run_id: int, state: Any = None) -> Iterator[TaskContext]:
    """Make ``node`` the running task: its run, task and config become what the getters return."""
    flow = node.stage.flow
    run_token = _run.set(RunContext(flow, config, run_id))
    context = TaskContext(node, state)
    task_token = _task.set(context)
    try:
        with config:
            yield context
    finally:
        _task.reset(task_token)
        _run.reset(run_token)
