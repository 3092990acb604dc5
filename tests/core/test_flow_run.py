"""How flow.run() picks its configuration and reports results."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from pipedag import ConfigError, Flow, Stage, TaskState, create_basic_pipedag_config, materialize


@materialize(version="1")
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2]})


def small_flow() -> tuple[Flow, object]:
    with Flow("small") as flow, Stage("s"):
        out = numbers()
    return flow, out


def test_with_config_block_is_used(tmp_path: Path) -> None:
    """`with cfg:` makes flow.run() use that instance."""
    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'a.duckdb'}").get()
    flow, _ = small_flow()
    with cfg:
        assert flow.run().successful
    assert (tmp_path / "a.duckdb").exists()


def test_default_config_writes_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any config, a flow writes .pipedag/<flow>.duckdb in the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    flow, out = small_flow()
    result = flow.run()
    assert (tmp_path / ".pipedag" / "small.duckdb").is_file()
    assert list(result.get(out).x) == [1, 2]
    assert os.getcwd() == str(tmp_path)


def test_wrong_config_type_is_rejected() -> None:
    """Passing something that is not a ConfigContext explains how to get one."""
    flow, _ = small_flow()
    with pytest.raises(ConfigError, match=r"call \.get\(\)"):
        flow.run(config=create_basic_pipedag_config("duckdb:///x.duckdb"))  # type: ignore[arg-type]


def test_unknown_run_option_is_rejected(tmp_path: Path) -> None:
    """A misspelt keyword argument to run() is not silently ignored."""
    flow, _ = small_flow()
    with pytest.raises(TypeError, match="fail_fats"):
        flow.run(create_basic_pipedag_config(f"duckdb:///{tmp_path / 'a.duckdb'}").get(), fail_fats=True)


def test_result_get_of_failed_task_is_an_error(tmp_path: Path) -> None:
    """Getting the output of a failed task says it failed."""
    from pipedag import StateError

    @materialize(version="1")
    def broken() -> pd.DataFrame:
        raise ValueError("nope")

    with Flow("f") as flow, Stage("s"):
        out = broken()
    result = flow.run(create_basic_pipedag_config(f"duckdb:///{tmp_path / 'a.duckdb'}").get())
    assert result.task_states == {"s.broken": TaskState.FAILED}
    assert isinstance(result.exception, ValueError)
    with pytest.raises(StateError, match=r"s\.broken failed"):
        result.get(out)


def test_flow_with_spaces_in_its_name_runs_zero_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow named "flow 1" runs and reruns cache-valid in .pipedag/flow 1.duckdb without pipedag.yaml."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)

    @materialize(version="1")
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2]})

    with Flow("flow 1") as flow, Stage("s"):
        out = numbers()
    assert flow.run().successful
    second = flow.run()
    assert second.task_states == {"s.numbers": TaskState.CACHE_VALID}
    assert list(second.get(out).x) == [1, 2]
    assert (tmp_path / ".pipedag" / "flow 1.duckdb").is_file()


def test_result_get_in_unpublished_stage_says_so(tmp_path: Path) -> None:
    """Getting the output of a task that ran in a stage left unpublished names the stage and the failed task."""
    from pipedag import StateError

    @materialize(version="1")
    def good() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @materialize(version="1")
    def broken() -> pd.DataFrame:
        raise ValueError("nope")

    with Flow("f") as flow, Stage("s"):
        out = good()
        broken()
    result = flow.run(create_basic_pipedag_config(f"duckdb:///{tmp_path / 'a.duckdb'}").get())
    assert result.task_states == {"s.good": TaskState.RAN, "s.broken": TaskState.FAILED}
    with pytest.raises(StateError, match=r"stage 's' was not published in run \d+ because task s\.broken failed"):
        result.get(out)
