"""Task kinds: the seam through which a kind of task supplies its own decide/execute behaviour.

Every task names its kind in the class attribute :attr:`pipedag.Task.kind` (``"task"`` for
``@materialize``, ``"input_stage_versions"`` for ``@input_stage_versions``). The scheduler
looks the name up here and calls the kind's four hooks; nothing else in the engine asks
what type a task is. To add a kind (record-level incremental tasks, batch inventories):

1. subclass :class:`pipedag.Task` and set ``kind = "my_kind"``;
2. subclass :class:`TaskKind`, overriding only the hooks that differ;
3. call ``register_kind("my_kind", MyKind())`` in the module that defines the Task subclass
   (importing that module, on the driver or a distributed worker, registers the kind).

Where each hook runs and what may cross a process boundary:

* :meth:`TaskKind.dependencies` (driver): the tasks that must have finished before this one
  is decided; by default the tasks whose outputs it takes.
* :meth:`TaskKind.hold` (driver): a context manager held from before the decision until the
  task finished, e.g. another instance's lock.
* :meth:`TaskKind.decide` (driver): returns a :class:`~pipedag.engine.task_runner.Decision`
  (cache key, hit or run, reason). It goes to a worker by pickle: keep its fields plain data.
* :meth:`TaskKind.execute` (a worker, with its own store connection): runs the task and
  returns a :class:`~pipedag.engine.task_runner.TaskRun`. Tables it writes go into the stage's
  data schema and are listed in ``TaskRun.written`` (dropped again if the stage fails).

Statements that must take effect exactly when the stage is published (a delta upsert into a
published table, an update of key state in metadata) go into ``TaskRun.publish_sql`` as
``(sql, params)`` pairs rendered for the store (``store.render(statement)`` or hand-written
SQL with the store's parameter style). The driver's one publishing code path runs them, in
task order, inside the transaction that publishes the stage; if the stage is not published
(a sibling failed) they never run.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from pipedag.errors import TaskError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.task import Task, TaskNode
    from pipedag.engine.task_runner import Decision, TaskRun, TaskRunner


class TaskKind:
    """Decides and executes one kind of task; the default behaviour is that of ``@materialize``."""

    def dependencies(self, node: TaskNode) -> list[TaskNode]:
        """Tasks that must have finished (successfully or not) before ``node`` is decided."""
        return list(node.upstream)

    def hold(self, config: ConfigContext, node: TaskNode) -> AbstractContextManager[None]:
        """A context held on the driver from before the decision until ``node`` finished."""
        return nullcontext()

    def decide(self, runner: TaskRunner, node: TaskNode) -> Decision:
        """Cache key, hit or run, and why; runs on the driver with the run's values."""
        return runner.decide(node)

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        """Run a task that is not cache-valid and store its outputs; runs on a worker."""
        return runner.carry_out(decision)


_KINDS: dict[str, TaskKind] = {"task": TaskKind()}


def register_kind(name: str, kind: TaskKind) -> None:
    """Make ``kind`` decide and execute tasks whose class sets ``kind = name``."""
    _KINDS[name] = kind


def kind_of(task: Task) -> TaskKind:
    """The registered behaviour of ``task``'s kind.

    Raises:
        TaskError: when no module registered the kind.
    """
    name = type(task).kind
    if name not in _KINDS and name == "input_stage_versions":
        import pipedag.engine.stage_versions  # noqa: F401  registers the built-in kind
    try:
        return _KINDS[name]
    except KeyError:
        raise TaskError(
            f"Task {task.name!r} is of kind {name!r}, which no imported module registered; import the "
            "module that defines it (it calls pipedag.engine.kinds.register_kind)."
        ) from None
