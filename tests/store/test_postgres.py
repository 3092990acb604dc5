"""The PostgreSQL table store on the real server: publish, crash safety, GC, identifiers, isolation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, ConfigError, Flow, Stage, Table, TaskState, create_basic_pipedag_config, materialize
from pipedag.store.postgres import PostgresTableStore

pytestmark = pytest.mark.postgres


def _flow(value: int, fail: bool = False) -> tuple[Flow, Any]:
    """Stage 'data' with two tables that always carry the same ``v``; optionally a failing third task."""

    @materialize(version=str(value), nout=2)
    def pair() -> tuple[Table, Table]:
        frame = pd.DataFrame({"v": [value] * 3, "i": [1, 2, 3]})
        return Table(frame, "a"), Table(frame.copy(), "b")

    @materialize(version="1")
    def boom(a: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("task failed on purpose")

    with Flow("pg") as flow, Stage("data"):
        a, _ = pair()
        if fail:
            boom(a)
    return flow, a


def _values(url: str, prefix: str) -> tuple[int, int]:
    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute(
            f'SELECT (SELECT min(v) FROM "{prefix}data".a), (SELECT min(v) FROM "{prefix}data".b)'
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _tables(con: psycopg.Connection[Any], schema: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])}


def test_frame_types_round_trip(postgres_config: ConfigContext) -> None:
    """Ints, floats with nulls, strings, timestamps and booleans come back unchanged through ADBC."""
    frame = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [1.5, None, 3.0],
            "s": ["x", "ÿ", None],
            "t": pd.to_datetime(["2020-01-01 00:00", "2021-06-30 12:00", "1999-12-31 23:59"]),
            "b": [True, False, True],
        }
    )

    @materialize(version="1")
    def make() -> pd.DataFrame:
        return frame

    with Flow("types") as flow, Stage("types"):
        out = make()
    result = flow.run(config=postgres_config)
    back = result.get(out)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    arrow = result.get(out, as_type=pa.Table)
    assert arrow.schema.field("i").type == pa.int64()


def test_sql_tasks_and_cache_on_postgres(postgres_config: ConfigContext) -> None:
    """Lazy SQL runs as CREATE TABLE AS on the server and a rerun is all cache hits."""

    @materialize(version="1")
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": range(100)})

    @materialize(lazy=True)
    def evens(t: sa.Alias) -> Any:
        return sa.select(t).where(t.c.n % 2 == 0)

    with Flow("sql") as flow:
        with Stage("raw"):
            n = numbers()
        with Stage("derived"):
            e = evens(n)
    first = flow.run(config=postgres_config)
    assert first.outcomes[-1].rows == 50
    assert len(first.get(e)) == 50
    second = flow.run(config=postgres_config)
    assert set(second.task_states.values()) == {TaskState.CACHE_VALID}


def test_publish_is_atomic_for_a_concurrent_reader(postgres_config: ConfigContext, postgres_url: str) -> None:
    """A reader querying both tables of a stage during many publishes never sees a mix or a missing table."""
    prefix = postgres_config.schema_prefix
    _flow(0)[0].run(config=postgres_config)
    errors: list[str] = []
    mixed: list[tuple[int, int]] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        with psycopg.connect(postgres_url, autocommit=True) as con:
            while not stop.is_set():
                try:
                    row = con.execute(
                        f'SELECT (SELECT min(v) FROM "{prefix}data".a), (SELECT min(v) FROM "{prefix}data".b)'
                    ).fetchone()
                except psycopg.Error as exc:
                    errors.append(str(exc))
                    continue
                reads += 1
                if row is None or row[0] != row[1]:
                    mixed.append(row)  # type: ignore[arg-type]

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for value in range(1, 9):
            assert _flow(value)[0].run(config=postgres_config).successful
    finally:
        stop.set()
        thread.join()
    assert reads > 20
    assert errors == [] and mixed == []
    assert _values(postgres_url, prefix) == (8, 8)


def test_failed_task_leaves_committed_stage_intact(postgres_config: ConfigContext, postgres_url: str) -> None:
    """A run whose stage fails keeps the last published version and leaves no new tables behind."""
    prefix = postgres_config.schema_prefix
    _flow(1)[0].run(config=postgres_config)
    with psycopg.connect(postgres_url) as con:
        before = _tables(con, f"{prefix}data__pipedag")
    flow, _ = _flow(2, fail=True)
    with pytest.raises(RuntimeError, match="on purpose"):
        flow.run(config=postgres_config)
    assert _values(postgres_url, prefix) == (1, 1)
    with psycopg.connect(postgres_url) as con:
        after = _tables(con, f"{prefix}data__pipedag")
    assert after == before


def test_killed_process_mid_stage_leaves_committed_stage_intact(
    postgres_config: ConfigContext, postgres_url: str, tmp_path: Path
) -> None:
    """A process killed between two tasks of a stage changes nothing users see; the next run succeeds."""
    prefix = postgres_config.schema_prefix
    _flow(1)[0].run(config=postgres_config)
    script = tmp_path / "crash.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            import pandas as pd
            from pipedag import Flow, Stage, Table, materialize, create_basic_pipedag_config

            @materialize(version="9", nout=2)
            def pair():
                frame = pd.DataFrame({{"v": [9] * 3, "i": [1, 2, 3]}})
                return Table(frame, "a"), Table(frame.copy(), "b")

            @materialize(version="1")
            def die(a):
                os._exit(3)

            with Flow("pg") as flow:
                with Stage("data"):
                    a, _ = pair()
                    die(a)
            flow.run(config=create_basic_pipedag_config({postgres_url!r}, schema_prefix={prefix!r}).get())
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert _values(postgres_url, prefix) == (1, 1)
    result = _flow(2)[0].run(config=postgres_config)
    assert result.successful
    assert _values(postgres_url, prefix) == (2, 2)


def test_gc_does_not_wait_for_a_reader_of_an_old_table(postgres_url: str, pg_prefix: str) -> None:
    """An old table a reader still holds is skipped by GC (publish stays fast) and dropped at a later publish."""
    schema_prefix = pg_prefix
    cfg = ConfigContext(
        pipeline_name="p", instance_name="gc", instance_id="gc", table_store_url=postgres_url,
        schema_prefix=schema_prefix, keep_stage_versions=1, fail_fast=True,
    )
    _flow(1)[0].run(config=cfg)
    with psycopg.connect(postgres_url) as con:
        old = con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", [f"{schema_prefix}data__pipedag"]
        ).fetchall()
        # A reader of the physical table (e.g. a long query that resolved the view before the
        # publish) holds a lock until its transaction ends. Re-pointing a view does not need that
        # table, but dropping it would wait.
        for (table,) in old:
            con.execute(f'SELECT * FROM "{schema_prefix}data__pipedag"."{table}"').fetchall()
        start = time.perf_counter()
        _flow(2)[0].run(config=cfg)
        assert time.perf_counter() - start < 5
        with psycopg.connect(postgres_url) as other:
            left = {r[0] for r in other.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", [f"{schema_prefix}data__pipedag"]
            )}
        assert {r[0] for r in old} & left, "the table in use must survive this GC"
        con.rollback()
    _flow(3)[0].run(config=cfg)
    with psycopg.connect(postgres_url) as con:
        final = {r[0] for r in con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", [f"{schema_prefix}data__pipedag"]
        )}
    assert not ({r[0] for r in old} & final)
    assert len(final) == 2


def test_long_schema_names_fail_clearly(postgres_url: str, schema_prefix: str) -> None:
    """A schema name PostgreSQL would truncate raises a ConfigError naming stage, instance and fix."""
    cfg = create_basic_pipedag_config(postgres_url, schema_prefix=schema_prefix + "x" * 40, fail_fast=True).get()
    store = PostgresTableStore(cfg)
    with pytest.raises(ConfigError, match=r"data schema of stage 'a_long_stage_name'.*at most 63.*schema_prefix"):
        store.stage_schema("a_long_stage_name")


def test_long_table_names_with_indexes_are_shortened_stably(postgres_config: ConfigContext) -> None:
    """A 48-character table with two indexes gets distinct, stable index names under 63 bytes."""
    name = "t" * 48

    @materialize(version="1")
    def wide() -> Table:
        return Table(pd.DataFrame({"a": [1], "b": [2]}), name, primary_key="a", indexes=[["a"], ["b"]])

    with Flow("long") as flow, Stage("s"):
        out = wide()
    assert flow.run(config=postgres_config).successful
    store = postgres_config.create_store()
    with store:
        rows = store.execute_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", [f"{postgres_config.schema_prefix}s__pipedag"]
        )
    names = {r[0] for r in rows}
    assert len(names) == 3 and all(len(n) <= 63 for n in names)
    assert flow.run(config=postgres_config).state(out) is TaskState.CACHE_VALID


def test_instances_sharing_a_database_are_isolated(postgres_url: str, pg_prefix: str) -> None:
    """Two prefixes in one database keep separate stages and metadata: writing one never changes the other."""
    a, b = f"{pg_prefix}a_", f"{pg_prefix}b_"
    cfg_a = create_basic_pipedag_config(postgres_url, schema_prefix=a, fail_fast=True).get()
    cfg_b = create_basic_pipedag_config(postgres_url, schema_prefix=b, fail_fast=True).get()
    _flow(1)[0].run(config=cfg_a)
    result = _flow(2)[0].run(config=cfg_b)
    assert result.run_id == 1  # b's metadata starts empty
    assert _values(postgres_url, a) == (1, 1)
    assert _values(postgres_url, b) == (2, 2)


def test_create_database_if_not_exists(postgres_url: str) -> None:
    """With create_database_if_not_exists the instance's own database is created on first use."""
    from pipedag import PipedagConfig
    from pipedag.store.postgres import _with_database

    name = f"pipedag_t{uuid.uuid4().hex[:8]}"
    url = _with_database(postgres_url, name)
    cfg = PipedagConfig(
        {"instances": {"own": {"table_store": {"args": {"url": url, "create_database_if_not_exists": True}}}}}
    ).get()
    try:
        assert _flow(1)[0].run(config=cfg).successful
        assert _values(url, "") == (1, 1)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def test_unreachable_server_is_a_store_error() -> None:
    """A connection failure is a StoreError naming the URL without its password."""
    from pipedag import StoreError

    cfg = create_basic_pipedag_config("postgresql://u:secret@127.0.0.1:1/db", lock_timeout=0).get()
    store = cfg.create_store()
    with pytest.raises(StoreError, match=r"u:\*\*\*@127\.0\.0\.1:1/db") as info:
        store.open()
    assert "secret" not in str(info.value)


def test_long_column_names_are_refused_not_truncated(postgres_config: ConfigContext) -> None:
    """A frame column or SQL label over 63 bytes fails naming the culprit instead of being shortened."""
    from pipedag import TaskError

    long = "c" * 70

    @materialize(version="1")
    def frame() -> pd.DataFrame:
        return pd.DataFrame({long: [1]})

    @materialize(lazy=True)
    def query() -> Any:
        return sa.text(f"SELECT 1 AS {long}")

    for task in (frame, query):
        with Flow("long") as flow, Stage("s"):
            task()
        with pytest.raises(TaskError, match=r"(Column 'c{70}'.*Rename the column)|(shorter column label)"):
            flow.run(config=postgres_config)
        store = postgres_config.create_store()
        with store:
            assert store.list_tables(store.data_schema("s")) == set()


def test_nanoseconds_are_refused_not_truncated(postgres_config: ConfigContext) -> None:
    """Sub-microsecond timestamps fail naming the column; whole microseconds (pandas' usual ns) pass."""
    from pipedag import TaskError

    @materialize(version="1")
    def whole() -> pd.DataFrame:
        return pd.DataFrame({"ts": pd.to_datetime(["2026-01-01 00:00:00.000001"])})

    @materialize(version="1")
    def precise() -> pa.Table:
        return pa.table({"ts": pa.array([1_000_000_001], type=pa.timestamp("ns"))})

    with Flow("ns") as flow, Stage("s"):
        out = whole()
    result = flow.run(config=postgres_config)
    assert result.get(out).ts[0] == pd.Timestamp("2026-01-01 00:00:00.000001")

    with Flow("ns") as flow, Stage("s"):
        precise()
    with pytest.raises(TaskError, match=r"store table 'precise': Column 'ts' holds nanosecond values.*microseconds"):
        flow.run(config=postgres_config)
