"""Helpers for testing flows: assert what ran and what was cache-valid, capture decisions.

Example::

    from pipedag.testing import assert_cache_valid, assert_ran, capture_decisions

    first = flow.run(cfg)
    assert_ran(first, "features.summary")
    with capture_decisions() as captured:
        second = flow.run(cfg)
    assert_cache_valid(second)                 # every task
    assert captured.decision("summary").state is TaskState.CACHE_VALID

Tasks are named by the output of their call while wiring, the :class:`~pipedag.Task` itself
(every call of it), ``"stage.task"`` or a bare ``"task"`` name when it is unique in the flow.
The pytest plugin lives in :mod:`pipedag.testing.pytest_plugin`.
"""

from pipedag.testing.assertions import assert_cache_valid, assert_ran, find_outcomes
from pipedag.testing.capture import CapturedRuns, capture_decisions

__all__ = ["CapturedRuns", "assert_cache_valid", "assert_ran", "capture_decisions", "find_outcomes"]
