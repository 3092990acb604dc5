"""What a task returns is checked at the task, naming it, before it is reported as run."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, TaskError, TaskState, materialize
from pipedag.testing import capture_decisions


def _single(fn: Any) -> Flow:
    task = materialize(version="1")(fn)
    with Flow("f") as flow, Stage("s"):
        task()
    return flow


@pytest.mark.parametrize("second_name", ["twin", "TWIN"])
def test_two_tables_with_one_name_fail_naming_both(store_config: ConfigContext, second_name: str) -> None:
    """Two outputs of one task named alike (or differing only in case) fail, naming the task and both outputs."""

    def twins() -> list[Table]:
        return [Table(pd.DataFrame({"a": [1]}), "twin"), Table(pd.DataFrame({"a": [2]}), second_name)]

    result = _single(twins).run(store_config, fail_fast=False)
    assert not result.successful
    message = str(result.outcomes[0].exception)
    assert isinstance(result.outcomes[0].exception, TaskError)
    assert "Task s.twins returns two tables named 'twin'" in message
    assert "Table 'twin' at position [0]" in message and f"Table {second_name!r} at position [1]" in message


def test_unique_suffix_error_names_what_the_user_wrote(duckdb_config: ConfigContext) -> None:
    """``Table(df, "%%")`` is rejected quoting '%%', not the generated name."""

    def bad() -> Table:
        return Table(pd.DataFrame({"a": [1]}), "%%")

    with pytest.raises(TaskError, match=r"Task s\.bad: invalid table name '%%' at the top level") as info:
        _single(bad).run(duckdb_config)
    assert "part_%%" in str(info.value)


def test_unique_suffix_with_a_valid_stem_still_works(duckdb_config: ConfigContext) -> None:
    """A name like ``part_%%`` keeps getting a unique, valid table name."""

    def parts() -> list[Table]:
        return [Table(pd.DataFrame({"a": [i]}), "part_%%") for i in range(2)]

    result = _single(parts).run(duckdb_config)
    assert result.successful


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"ids": {1, 2}}, r"a set at position \['ids'\]"), ([1, b"x"], r"a bytes at position \[1\]")],
)
def test_values_json_cannot_store_fail_at_the_task(duckdb_config: ConfigContext, value: Any, shown: str) -> None:
    """A set (or other non-JSON value) fails at its task with a TaskError, and the task is never reported as run."""

    def returns_value() -> Any:
        return value

    with capture_decisions() as captured:
        result = _single(returns_value).run(duckdb_config, fail_fast=False)
    assert [o.state for o in captured.decisions] == [TaskState.FAILED]
    error = result.outcomes[0].exception
    assert isinstance(error, TaskError)
    assert re.search(r"Task s\.returns_value returned " + shown, str(error))
