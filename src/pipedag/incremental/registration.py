"""Registers the engine behaviour of incremental tasks without importing it.

``import pipedag`` must stay light (the CLI starts with it), while the behaviour itself needs
SQLAlchemy and pyarrow. The registered stand-in imports :mod:`pipedag.incremental.kind` the
first time an incremental task is decided or executed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipedag.engine.kinds import TaskKind, register_kind

if TYPE_CHECKING:
    from pipedag.core.task import TaskNode
    from pipedag.engine.task_runner import Decision, TaskRun, TaskRunner


class _Deferred(TaskKind):
    """Hands every hook to :class:`pipedag.incremental.kind.IncrementalKind`, imported on first use."""

    def _kind(self) -> TaskKind:
        from pipedag.incremental.kind import IncrementalKind

        return IncrementalKind()

    def decide(self, runner: TaskRunner, node: TaskNode) -> Decision:
        """See :meth:`pipedag.incremental.kind.IncrementalKind.decide`."""
        return self._kind().decide(runner, node)

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        """See :meth:`pipedag.incremental.kind.IncrementalKind.execute`."""
        return self._kind().execute(runner, decision)


register_kind("incremental", _Deferred())
