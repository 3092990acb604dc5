"""``assert_ran``, ``assert_cache_valid`` and ``capture_decisions`` on real runs."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, TaskState, materialize
from pipedag.testing import assert_cache_valid, assert_ran, capture_decisions, find_outcomes


@materialize(version="1", name="load")
def load() -> Table:
    return Table(pd.DataFrame({"x": [1, 2]}), "load")


@materialize(name="always")
def always(df: pd.DataFrame) -> Table:
    return Table(df, "always")


def build() -> tuple[Flow, object]:
    with Flow("asserts") as flow:
        with Stage("a"):
            out = load()
        with Stage("b"):
            always(out)
    return flow, out


def test_assert_ran_and_cache_valid_accept_outputs_tasks_and_names(duckdb_config: ConfigContext) -> None:
    """Tasks can be named by output, Task object, 'stage.task' or bare name."""
    flow, out = build()
    first = flow.run(duckdb_config)
    assert_ran(first)
    second = flow.run(duckdb_config)
    assert_cache_valid(second, out, load, "a.load", "load")
    assert_ran(second, "b.always", always)


def test_failures_say_which_task_and_why(duckdb_config: ConfigContext) -> None:
    """A wrong expectation names the task, its actual state and the reason."""
    flow, _ = build()
    result = flow.run(duckdb_config)
    with pytest.raises(AssertionError, match=r"a.load: ran \(no earlier run of this task\)"):
        assert_cache_valid(result, "load")
    with pytest.raises(AssertionError, match=r"No task 'nope' in this run of flow 'asserts'. Tasks: a.load, b.always"):
        assert_ran(result, "nope")
    with pytest.raises(TypeError):
        find_outcomes(result, 42)  # type: ignore[arg-type]


def test_capture_decisions_collects_every_run(duckdb_config: ConfigContext) -> None:
    """Runs inside the block are captured in order; runs after it are not."""
    flow, _ = build()
    with capture_decisions() as captured:
        flow.run(duckdb_config)
        flow.run(duckdb_config)
    flow.run(duckdb_config)
    assert len(captured.results) == 2
    assert [o.state for o in captured.decisions] == [TaskState.RAN, TaskState.RAN, TaskState.CACHE_VALID, TaskState.RAN]
    assert captured.decision("load").state is TaskState.CACHE_VALID
    assert captured.decision("b.always").reason == "no version: runs every time"
    with pytest.raises(AssertionError, match=r"captured: a\.load, b\.always"):
        captured.decision("missing")
