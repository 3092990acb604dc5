"""Listeners that follow a run as it happens: the progress display, ``pipedag.testing`` captures.

The engine announces each step to every active listener; listeners only observe, they never
change what the run does. Extra listeners are activated for a block with :func:`listening`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.core.result import Result, TaskOutcome
    from pipedag.core.task import TaskNode


class RunListener:
    """Receives the events of flow runs; every hook does nothing unless overridden."""

    def run_started(self, flow: Flow, config: ConfigContext, run_id: int, total: int) -> None:
        """A run of ``flow`` with ``total`` tasks began."""

    def task_started(self, node: TaskNode, index: int, total: int) -> None:
        """Task number ``index`` (1-based) of ``total`` is about to be decided and maybe run."""

    def task_finished(self, outcome: TaskOutcome, index: int, total: int) -> None:
        """A task ran, was cache-valid, failed or was skipped."""

    def run_finished(self, result: Result, seconds: float) -> None:
        """The run ended (successfully or not) after ``seconds``."""


_listeners: ContextVar[tuple[RunListener, ...]] = ContextVar("pipedag_listeners", default=())


@contextmanager
def listening(listener: RunListener) -> Iterator[RunListener]:
    """Let ``listener`` follow every flow run started inside the block (in this thread/context)."""
    token = _listeners.set((*_listeners.get(), listener))
    try:
        yield listener
    finally:
        _listeners.reset(token)


def active_listeners() -> tuple[RunListener, ...]:
    """Listeners activated by enclosing :func:`listening` blocks."""
    return _listeners.get()
