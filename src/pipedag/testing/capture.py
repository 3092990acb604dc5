"""``capture_decisions``: collect the results and task decisions of every run inside a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipedag.engine.events import RunListener, listening

if TYPE_CHECKING:
    from pipedag.core.result import Result, TaskOutcome


@dataclass
class CapturedRuns(RunListener):
    """What :func:`capture_decisions` saw.

    Attributes:
        results: The Result of every run, in order.
        decisions: Every task outcome of every run, in the order the tasks finished.
    """

    results: list[Result] = field(default_factory=list)
    decisions: list[TaskOutcome] = field(default_factory=list)

    def task_finished(self, outcome: TaskOutcome, index: int, total: int) -> None:
        """Record a task outcome as soon as it is known (so failed runs are captured too)."""
        self.decisions.append(outcome)

    def run_finished(self, result: Result, seconds: float) -> None:
        """Record the run's Result."""
        self.results.append(result)

    def decision(self, task: str) -> TaskOutcome:
        """The latest outcome of ``"stage.task"`` or a bare task name.

        Raises:
            AssertionError: if no captured run had such a task.
        """
        for outcome in reversed(self.decisions):
            if outcome.label == task.lower() or outcome.label.split(".", 1)[1] == task.lower():
                return outcome
        seen = sorted({o.label for o in self.decisions})
        raise AssertionError(f"No captured decision for task {task!r}; captured: {', '.join(seen) or 'none'}.")


@contextmanager
def capture_decisions() -> Iterator[CapturedRuns]:
    """Capture the decisions of every flow run started inside the block.

    Yields:
        A :class:`CapturedRuns` that fills up as runs proceed.
    """
    with listening(CapturedRuns()) as captured:
        assert isinstance(captured, CapturedRuns)
        yield captured
