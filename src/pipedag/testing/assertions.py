"""``assert_ran`` / ``assert_cache_valid``: check a run's decisions with messages that say why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipedag.core.result import TaskOutcome, TaskState
from pipedag.core.task import Task, TaskOutput

if TYPE_CHECKING:
    from pipedag.core.result import Result


def find_outcomes(result: Result, task: TaskOutput | Task | str) -> list[TaskOutcome]:
    """The outcomes in ``result`` of the task(s) ``task`` names.

    Args:
        result: A flow run's result.
        task: The output of a task call, a Task (every call of it), ``"stage.task"`` or a
            bare task name that is unique in the flow.

    Raises:
        AssertionError: when nothing or, for a bare name, more than one task matches.
    """
    outcomes = result._outcomes
    if isinstance(task, TaskOutput):
        found = [outcomes[task.node]] if task.node in outcomes else []
    elif isinstance(task, Task):
        found = [o for node, o in outcomes.items() if node.task is task]
    elif isinstance(task, str):
        found = [o for o in outcomes.values() if o.label == task.lower()]
        if not found and "." not in task:
            found = [o for o in outcomes.values() if o.label.split(".", 1)[1] == task.lower()]
            if len(found) > 1:
                labels = ", ".join(o.label for o in found)
                raise AssertionError(f"Task name {task!r} is ambiguous ({labels}); write it as 'stage.task'.")
    else:
        raise TypeError(f"Name a task by its output, the Task or 'stage.task', not {type(task).__name__}.")
    if not found:
        known = ", ".join(o.label for o in outcomes.values())
        raise AssertionError(f"No task {_name(task)} in this run of flow {result.flow.name!r}. Tasks: {known}.")
    return found


def assert_ran(result: Result, *tasks: TaskOutput | Task | str) -> None:
    """Assert that the named tasks ran (all tasks when none are named).

    Raises:
        AssertionError: naming every task that did not run, its state and the reason.
    """
    _assert_state(result, tasks, TaskState.RAN)


def assert_cache_valid(result: Result, *tasks: TaskOutput | Task | str) -> None:
    """Assert that the named tasks were cache-valid (all tasks when none are named).

    Raises:
        AssertionError: naming every task that was not cache-valid, its state and the reason
            (e.g. ``"version 1.0 -> 1.1"``), which is the answer to "why did this rerun?".
    """
    _assert_state(result, tasks, TaskState.CACHE_VALID)


def _assert_state(result: Result, tasks: Sequence[Any], expected: TaskState) -> None:
    outcomes = [o for t in tasks for o in find_outcomes(result, t)] if tasks else result.outcomes
    wrong = [o for o in outcomes if o.state is not expected]
    if wrong:
        lines = [f"  {o.label}: {o.state.value} ({o.reason})" for o in wrong]
        raise AssertionError(f"Expected {expected.value}, but in run {result.run_id}:\n" + "\n".join(lines))


def _name(task: Any) -> str:
    if isinstance(task, TaskOutput):
        return task.node.label
    if isinstance(task, Task):
        return repr(task.name)
    return repr(task)
