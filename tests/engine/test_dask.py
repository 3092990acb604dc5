"""DaskEngine on a real LocalCluster with worker processes against PostgreSQL."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipedag import ConfigContext, ConfigError, DaskEngine, Flow, SequentialEngine, Stage, TaskState, materialize
from tests.engine.wide_flow import build_wide, decisions, tables


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two single-threaded worker processes; a worker's death fails its task at once (the engine retries)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield local
    local.close()


def test_duckdb_file_with_worker_processes_fails_at_start(duckdb_config: ConfigContext) -> None:
    """DaskEngine with processes on a DuckDB file stops before any task, naming what to use instead."""
    with Flow("f") as flow, Stage("s"):
        materialize(name="one", version="1")(lambda: pd.DataFrame({"a": [1]}))()
    with pytest.raises(ConfigError, match=r"admits one writing process only\. Use ParallelEngine .* PostgreSQL"):
        flow.run(duckdb_config, engine=DaskEngine(n_workers=1))


@pytest.mark.slow
@pytest.mark.postgres
def test_dask_processes_match_sequential(postgres_config: ConfigContext, cluster: Any) -> None:
    """Under DaskEngine with worker processes a flow gives the same decisions and tables as sequentially."""
    from dataclasses import replace

    other = replace(postgres_config, instance_id="dask_twin", schema_prefix=f"{postgres_config.schema_prefix}d")
    seq = build_wide(branches=2).run(postgres_config, engine=SequentialEngine())
    dsk = build_wide(branches=2).run(other, engine=DaskEngine(address=cluster.scheduler_address))
    assert dsk.successful
    assert decisions(seq) == decisions(dsk)
    assert tables(seq) == tables(dsk)


def _dies(marker: Path, always: bool, version: str) -> Any:
    @materialize(name="fragile", version=version)
    def fragile() -> pd.DataFrame:
        if always or not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
        return pd.DataFrame({"a": [1, 2]})

    return fragile


def _build(task: Any) -> Flow:
    @materialize(version="1")
    def steady() -> pd.DataFrame:
        return pd.DataFrame({"b": [1]})

    with Flow("f") as flow, Stage("s"):
        task()
        steady()
    return flow


@pytest.mark.postgres
def test_worker_killed_mid_task_is_retried(postgres_config: ConfigContext, cluster: Any, tmp_path: Path) -> None:
    """A task whose worker process dies mid-task is resubmitted once and the run succeeds."""
    marker = tmp_path / "died_once"
    result = _build(_dies(marker, always=False, version="1")).run(
        postgres_config, engine=DaskEngine(address=cluster.scheduler_address)
    )
    assert result.successful and marker.exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_worker_dying_twice_fails_cleanly(postgres_config: ConfigContext, cluster: Any, tmp_path: Path) -> None:
    """A task whose worker dies on every attempt fails clearly; nothing is published; the next run recovers."""
    engine = DaskEngine(address=cluster.scheduler_address)
    assert _build(_dies(tmp_path / "ok", always=False, version="1")).run(postgres_config, engine=engine).successful
    failed = _build(_dies(tmp_path / "dies", always=True, version="2")).run(
        postgres_config, engine=DaskEngine(address=cluster.scheduler_address), fail_fast=False
    )
    outcome = next(o for o in failed.outcomes if o.label == "s.fragile")
    assert outcome.state is TaskState.FAILED
    assert "the Dask worker running it died (tried 2 times); nothing of it was published" in outcome.reason
    with postgres_config.create_store() as store:
        history = store.load_history(["s"])["s"]
    assert len(history.versions) == 1  # the first run's version, untouched
    recovered = _build(_dies(tmp_path / "fresh", always=False, version="3")).run(
        postgres_config, engine=DaskEngine(address=cluster.scheduler_address)
    )
    assert recovered.successful
