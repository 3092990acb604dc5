"""Instance locks: a second process waits or fails clearly; other instances are not blocked."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, LockError, Stage, StageLockContext, create_basic_pipedag_config, materialize
from pipedag.store import locks
from pipedag.store.locks import FileLock, NoLock, PostgresAdvisoryLock, create_lock, instance_lock


def _flow() -> Flow:
    @materialize(version="1")
    def one() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with Flow("locked") as flow, Stage("s"):
        one()
    return flow


class _Holder:
    """Another process holding an instance's lock until told to stop (by deleting a file)."""

    def __init__(self, cfg: ConfigContext, tmp_path: Path) -> None:
        self.flag = tmp_path / f"hold-{time.monotonic_ns()}"
        self.flag.write_text("")
        script = textwrap.dedent(
            f"""
            import os, sys, time
            from pipedag import create_basic_pipedag_config
            from pipedag.store.locks import instance_lock
            cfg = create_basic_pipedag_config({cfg.table_store_url!r}, schema_prefix={cfg.schema_prefix!r}).get()
            with instance_lock(cfg):
                print("locked", flush=True)
                deadline = time.monotonic() + 30
                while os.path.exists({str(self.flag)!r}) and time.monotonic() < deadline:
                    time.sleep(0.05)
            """
        )
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def release_after(self, seconds: float) -> None:
        """Let the holder go after a delay, without blocking this process."""
        threading.Timer(seconds, self.flag.unlink, kwargs={"missing_ok": True}).start()

    def stop(self) -> None:
        """Release and reap the holder."""
        self.flag.unlink(missing_ok=True)
        self.proc.wait(timeout=30)


def _configs(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[ConfigContext, ConfigContext]:
    """Two instances (same backend, different data) with a short lock timeout."""
    if backend == "duckdb":
        a = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'a.duckdb'}", lock_timeout=0.3).get()
        b = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'b.duckdb'}", lock_timeout=0.3).get()
        return a, b
    url = request.getfixturevalue("postgres_url")
    prefix = request.getfixturevalue("pg_prefix")
    a = create_basic_pipedag_config(url, schema_prefix=prefix + "a_", lock_timeout=0.3).get()
    b = create_basic_pipedag_config(url, schema_prefix=prefix + "b_", lock_timeout=0.3).get()
    return a, b


BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_process_times_out_with_clear_error(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """While another process runs an instance, a run of the same instance fails after the timeout."""
    cfg, _ = _configs(backend, tmp_path, request)
    holder = _Holder(cfg, tmp_path)
    try:
        start = time.monotonic()
        with pytest.raises(LockError, match=r"Instance 'default'.*locked by .*lock_manager\.args\.timeout"):
            _flow().run(config=cfg)
        assert 0.25 < time.monotonic() - start < 10
    finally:
        holder.stop()
    assert _flow().run(config=cfg).successful


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_process_waits_and_logs(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a long enough timeout the second run logs that it waits, then runs once the lock is free."""
    cfg, _ = _configs(backend, tmp_path, request)
    cfg = dataclasses.replace(cfg, lock_timeout=30)
    events: list[tuple[str, dict[str, Any]]] = []

    class Recorder:
        def info(self, event: str, **fields: Any) -> None:
            events.append((event, fields))

    monkeypatch.setattr(locks, "get_logger", lambda: Recorder())
    holder = _Holder(cfg, tmp_path)
    try:
        holder.release_after(0.8)
        start = time.monotonic()
        assert _flow().run(config=cfg).successful
        assert time.monotonic() - start > 0.5
    finally:
        holder.stop()
    assert [e for e, _ in events] == ["waiting for another run of this instance", "lock acquired"]
    assert events[0][1]["instance"] == "default"


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_instance_is_not_blocked(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A run of a different instance proceeds while the first instance is locked."""
    cfg_a, cfg_b = _configs(backend, tmp_path, request)
    holder = _Holder(cfg_a, tmp_path)
    try:
        assert _flow().run(config=cfg_b).successful
    finally:
        holder.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_stage_lock_context_keeps_the_lock_after_the_run(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Inside StageLockContext the run's lock outlives the run (result.get is safe), and is freed at exit."""
    cfg, _ = _configs(backend, tmp_path, request)
    flow = _flow()
    with StageLockContext() as context:
        result = flow.run(config=cfg)
        assert len(context.held) == 1
        other = create_lock(dataclasses.replace(cfg, lock_timeout=0.1))
        with pytest.raises(LockError):
            other.acquire()
        assert flow.run(config=cfg).successful  # a second run in the same context reuses the lock
        assert result.get(_output(flow)).x.tolist() == [1]
    other.acquire()
    other.release()


def _output(flow: Flow) -> Any:
    from pipedag.core.task import TaskOutput

    return TaskOutput(flow.tasks[0])  # the flow's single task


def test_lock_manager_choices(tmp_path: Path) -> None:
    """auto picks a file lock for DuckDB and an advisory lock for PostgreSQL; none disables locking."""
    duck = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'x.duckdb'}").get()
    assert isinstance(create_lock(duck), FileLock)
    assert create_lock(duck).path == tmp_path / "x.duckdb.lock"  # type: ignore[attr-defined]
    pg = create_basic_pipedag_config("postgresql://postgres@127.0.0.1/test").get()
    assert isinstance(create_lock(pg), PostgresAdvisoryLock)
    assert isinstance(create_lock(dataclasses.replace(duck, lock_manager="none")), NoLock)
    from pipedag import ConfigError

    with pytest.raises(ConfigError, match="'database' needs PostgreSQL"):
        create_lock(dataclasses.replace(duck, lock_manager="database"))


def test_instance_lock_releases_on_error(tmp_path: Path) -> None:
    """A run that raises still frees the lock for the next one."""
    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'x.duckdb'}", lock_timeout=0.1).get()
    with pytest.raises(RuntimeError), instance_lock(cfg):
        raise RuntimeError("boom")
    with instance_lock(cfg):
        pass
