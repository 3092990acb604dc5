"""kill -9 at random moments of a multi-stage run: every stage stays whole and from one run, the next run recovers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipedag import ConfigContext
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified
from pipedag.store.run_history import recent_runs
from tests.store import fault_flow

SCRIPT = Path(fault_flow.__file__)


def _instance(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    if backend == "duckdb":
        return f"duckdb:///{tmp_path / 'faults.duckdb'}", ""
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_prefix")


def _start(url: str, prefix: str, token: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), url, prefix, token],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=SCRIPT.parents[2],
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _full_run_seconds(config: ConfigContext) -> float:
    """Duration of one complete run (which also gives every stage a first version)."""
    start = time.monotonic()
    assert fault_flow.build("first").run(config=config).successful
    return time.monotonic() - start


def _tokens(store: SQLTableStore, stage: str) -> dict[str, set[str]]:
    """The tokens in each published table of a stage, read through the views users query."""
    schema = store.stage_schema(stage)
    return {
        table: {r[0] for r in store.execute_sql(f"SELECT DISTINCT token FROM {qualified(schema, table)}")}
        for table in fault_flow.STAGES[stage]
    }


def _check_whole(config: ConfigContext) -> dict[str, str]:
    """Assert every stage is published whole, every table from the same run; return each stage's token."""
    found = {}
    with config.create_store() as store:
        histories = store.load_history(list(fault_flow.STAGES))
        for stage, tables in fault_flow.STAGES.items():
            assert set(histories[stage].published_tables()) == tables, stage
            tokens = _tokens(store, stage)
            assert all(len(t) == 1 for t in tokens.values()), tokens
            assert len(set.union(*tokens.values())) == 1, f"stage {stage} mixes runs: {tokens}"
            found[stage] = next(iter(set.union(*tokens.values())))
    return found


def _check_recovered(config: ConfigContext, token: str) -> None:
    """After a complete run: all stages from it, no run left 'running', no table nobody references."""
    assert set(_check_whole(config).values()) == {token}
    with config.create_store() as store:
        assert "running" not in {r.status for r in recent_runs(store, 1000)}
        histories = store.load_history(list(fault_flow.STAGES))
        for stage, history in histories.items():
            leftovers = store.list_tables(store.data_schema(stage)) - history.referenced_tables()
            assert not leftovers, f"stage {stage} keeps tables of killed runs: {leftovers}"


def _kill_and_recover(backend: str, tmp_path: Path, request: pytest.FixtureRequest, kills: int) -> None:
    url, prefix = _instance(backend, tmp_path, request)
    config = fault_flow.config(url, prefix)
    window = _full_run_seconds(config) * 1.5  # a subprocess is slower than a warm in-process run
    rng = random.Random(os.environ.get("PIPEDAG_FAULT_SEED", uuid.uuid4().hex))
    recovered = True
    for i in range(kills):
        process = _start(url, prefix, f"killed{i}")
        time.sleep(rng.uniform(0, window))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        _check_whole(config)
        # Under -m slow, sometimes several kills in a row before a run completes.
        recovered = kills <= 5 or rng.random() > 0.3
        if recovered:
            assert fault_flow.build(f"recovered{i}").run(config=config).successful
            _check_recovered(config, f"recovered{i}")
    if not recovered:
        assert fault_flow.build("final").run(config=config).successful
        _check_recovered(config, "final")


def test_kill_9_mid_run_leaves_whole_stages(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A kill -9 at a random moment: each stage stays whole and from one run, and the next run cleans up."""
    _kill_and_recover(backend, tmp_path, request, kills=2)


@pytest.mark.slow
def test_many_kill_9s_leave_whole_stages(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Fifty-five kill -9s at random moments on each backend: no half-published stage, no leftovers."""
    _kill_and_recover(backend, tmp_path, request, kills=55)
