"""Locks under faults: the database is the identity, a lost lock stops publishing, crashes are recorded."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

import pandas as pd
import psycopg
import pytest

from pipedag import (
    ConfigContext,
    Flow,
    LockError,
    PipedagError,
    Stage,
    StoreError,
    create_basic_pipedag_config,
    materialize,
)
from pipedag.store.locks import PostgresAdvisoryLock, create_lock, instance_lock
from pipedag.store.run_history import recent_runs

pytestmark = pytest.mark.postgres


def _with_url(config: ConfigContext, url: str, timeout: float = 0.3) -> ConfigContext:
    return create_basic_pipedag_config(url, schema_prefix=config.schema_prefix, lock_timeout=timeout).get()


def _lock_backend(config: ConfigContext, url: str) -> int | None:
    """The backend pid holding the instance's advisory lock, found by its key in pg_locks."""
    classid, objid = PostgresAdvisoryLock(config)._halves
    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid = %s AND objid = %s",
            [classid, objid],
        ).fetchone()
    return None if row is None else int(row[0])


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_lock_identity_is_the_database_not_the_url_text(postgres_config: ConfigContext, postgres_url: str) -> None:
    """`postgresql://` and `postgresql+psycopg://` (and an explicit default port) for one database share one lock."""
    plain = _with_url(postgres_config, postgres_url)
    driver = _with_url(postgres_config, postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    assert create_lock(plain).identity == create_lock(driver).identity
    with instance_lock(plain), pytest.raises(LockError), instance_lock(driver):
        pass


def test_lock_timeout_closes_the_lock_connection(postgres_config: ConfigContext, postgres_url: str) -> None:
    """A LockError after waiting leaves no connection of the waiting lock open on the server."""
    tag = f"pipedag_wait_{uuid.uuid4().hex[:8]}"
    waiter = _with_url(postgres_config, f"{postgres_url}?application_name={tag}", timeout=0.2)
    with instance_lock(_with_url(postgres_config, postgres_url)):
        for _ in range(3):
            with pytest.raises(LockError), instance_lock(waiter):
                pass
    with psycopg.connect(postgres_url, autocommit=True) as con:
        (left,) = con.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [tag]).fetchone()
    assert left == 0


def test_missing_database_is_named_with_the_fix(postgres_url: str) -> None:
    """A URL naming a database that does not exist fails with a StoreError (not a LockError) naming the setting."""
    missing = postgres_url.rsplit("/", 1)[0] + f"/pipedag_missing_{uuid.uuid4().hex[:8]}"
    config = create_basic_pipedag_config(missing).get()

    @materialize(version="1")
    def one() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with Flow("f") as flow, Stage("s"):
        one()
    with pytest.raises(StoreError) as info:
        flow.run(config=config)
    assert not isinstance(info.value, LockError)
    assert "does not exist" in str(info.value) and "create_database_if_not_exists" in str(info.value)


def _two_stage_flow(action: Any) -> tuple[Flow, Any]:
    calls: list[int] = []

    @materialize(version=None)
    def first() -> pd.DataFrame:
        calls.append(1)
        n = len(calls)
        action()
        return pd.DataFrame({"x": [n, 2]})  # each run writes different data

    @materialize(version=None, input_type=pd.DataFrame)
    def second(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(y=df.x * 2)

    with Flow("faults") as flow:
        with Stage("one"):
            a = first()
        with Stage("two"):
            b = second(a)
    return flow, b


def _published(config: ConfigContext, url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as con:
        rows = con.execute(
            f'SELECT DISTINCT stage FROM "{config.schema_prefix}pipedag_metadata".stage_versions ORDER BY stage'
        ).fetchall()
    return [r[0] for r in rows]


def test_lost_lock_connection_stops_the_run_before_publishing(
    postgres_config: ConfigContext, postgres_url: str
) -> None:
    """When the lock's connection is killed mid-run, the run publishes nothing more and fails with LockError,
    even though a second run took the lock and published in between."""
    config = dataclasses.replace(postgres_config, fail_fast=True)
    seen: dict[str, Any] = {}

    def kill_lock_and_run_another() -> None:
        if seen:
            return  # only the first run's task does this
        pid = _lock_backend(config, postgres_url)
        assert pid is not None
        seen["pid"] = pid
        _terminate(postgres_url, pid)
        other = threading.Thread(target=lambda: seen.update(other=flow.run(config=config)))
        other.start()  # a second run, in its own thread, now gets the lock at once
        other.join()

    flow, _ = _two_stage_flow(kill_lock_and_run_another)
    with pytest.raises(LockError, match="lost the lock"):
        flow.run(config=config)
    assert seen["other"].successful
    with config.create_store() as store:
        runs = recent_runs(store)
    # The second run published both stages; the first published nothing and is recorded as failed.
    assert [(r.run_id, r.status) for r in sorted(runs, key=lambda r: r.run_id)] == [(1, "failed"), (2, "succeeded")]
    assert _published(config, postgres_url) == ["one", "two"]
    with psycopg.connect(postgres_url, autocommit=True) as con:
        runs_by_stage = con.execute(
            f'SELECT stage, max(run_id) FROM "{config.schema_prefix}pipedag_metadata".stage_versions GROUP BY stage'
        ).fetchall()
    assert dict(runs_by_stage) == {"one": 2, "two": 2}


def test_terminated_store_connection_is_a_pipedag_error_naming_the_task(
    postgres_config: ConfigContext, postgres_url: str
) -> None:
    """Killing every connection of a run mid-task ends in a pipedag error naming the task, and the run is recorded."""
    tag = f"pipedag_kill_{uuid.uuid4().hex[:8]}"
    config = _with_url(postgres_config, f"{postgres_url}?application_name={tag}")
    config = dataclasses.replace(config, fail_fast=True)

    def kill_everything() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [tag]
            )

    flow, _ = _two_stage_flow(kill_everything)
    with pytest.raises(PipedagError) as info:
        flow.run(config=config)
    assert "one.first" in str(info.value) and "terminating connection" in str(info.value)
    assert isinstance(info.value.__cause__, StoreError)
    with config.create_store() as store:
        assert [r.status for r in recent_runs(store)] == ["failed"]


def test_killed_run_is_marked_abandoned_by_the_next(store_config: ConfigContext) -> None:
    """A run left 'running' by a crash is marked 'abandoned' when the next run (holding the lock) starts."""
    with store_config.create_store() as store:
        crashed = store.begin_run("faults")
    flow, _ = _two_stage_flow(lambda: None)
    assert flow.run(config=store_config).successful
    with store_config.create_store() as store:
        status = {r.run_id: r.status for r in recent_runs(store)}
    assert status[crashed] == "abandoned" and status[crashed + 1] == "succeeded"
