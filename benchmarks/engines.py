"""Engines against each other and against the raw drivers, all in one run.

Run: ``python -m benchmarks.engines [--url postgresql://...] [--skip-dask]``

1. Database waits: 8 independent branches x 4 lazy SQL tasks (one stage per layer) whose query
   sleeps ``--sleep`` seconds in PostgreSQL (``pg_sleep``). Sequential, ``ParallelEngine(4)``
   and ``DaskEngine`` with 4 worker processes; the raw baseline runs the same 32 sleeping
   ``CREATE TABLE AS`` statements on 4 psycopg connections in threads. Goal: <= 0.35x sequential.
2. CPU-bound DuckDB SQL: ``--cpu-tasks`` independent lazy tasks, each a single-threaded
   aggregate over a generated range, on a DuckDB file. Sequential against ``ParallelEngine(2)``;
   the raw baseline runs the same statements through the duckdb driver on one connection, then
   on two cursors in threads. Goal: <= 0.75x sequential.
3. Overhead: the 100-task flow of :mod:`benchmarks.flow_overhead`, cache-valid rerun, sequential
   against ``ParallelEngine(4)`` on DuckDB (goal <= 1.5x); and on PostgreSQL the first run under
   ``DaskEngine`` against sequential on an already running LocalCluster, as ms per task
   (goal <= 20 ms), plus the cluster's start-up time.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from benchmarks import flow_overhead
from benchmarks.common import quiet, report, temp_config, timed
from pipedag import (
    ConfigContext,
    DaskEngine,
    Flow,
    ParallelEngine,
    SequentialEngine,
    Stage,
    create_basic_pipedag_config,
    materialize,
)

URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# ------------------------------------------------------------------ 1. database waits


def waiting_flow(branches: int, depth: int, sleep: float) -> Flow:
    """``branches`` chains of ``depth`` lazy tasks; each query sleeps ``sleep`` s in PostgreSQL."""

    def nap() -> Any:
        return sa.select(sa.func.pg_sleep(sleep).label("z")).subquery("nap")

    @materialize(lazy=True)
    def first(i: int) -> Any:
        return sa.select(sa.literal(i).label("id")).select_from(nap())

    @materialize(lazy=True)
    def then(t: sa.Alias) -> Any:
        return sa.select((t.c.id + 1).label("id")).select_from(t.join(nap(), sa.true()))

    with Flow("waits") as flow:
        layer: list[Any] = []
        for level in range(depth):
            with Stage(f"layer_{level}"):
                layer = [first(i) for i in range(branches)] if level == 0 else [then(t) for t in layer]
    return flow


def raw_waits(url: str, statements: int, connections: int, sleep: float) -> float:
    """Seconds for ``statements`` sleeping CREATE TABLE AS on ``connections`` psycopg connections in threads."""
    import psycopg

    schema = f"bench_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
    queue = list(range(statements))
    lock = threading.Lock()

    def worker() -> None:
        with psycopg.connect(url, autocommit=True) as con:
            while True:
                with lock:
                    if not queue:
                        return
                    n = queue.pop()
                con.execute(
                    f'CREATE TABLE "{schema}".t{n} AS SELECT {n} AS id FROM (SELECT pg_sleep({sleep})) s'  # type: ignore[arg-type]
                )

    def run() -> None:
        threads = [threading.Thread(target=worker) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    try:
        return timed(run)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]


def _pg_config(url: str, tag: str) -> ConfigContext:
    return create_basic_pipedag_config(url, schema_prefix=f"bench_{tag}_{uuid.uuid4().hex[:6]}_").get()


def _drop_prefix(url: str, config: ConfigContext) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        names = con.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [config.schema_prefix]
        ).fetchall()
        for (name,) in names:
            con.execute(f'DROP SCHEMA "{name}" CASCADE')  # type: ignore[arg-type]


def database_waits(url: str, sleep: float, dask: bool) -> dict[str, float]:
    """Section 1: wall time of each engine relative to sequential and to the raw 4-connection baseline."""
    engines: dict[str, Callable[[], Any]] = {
        "sequential": SequentialEngine,
        "ParallelEngine(4)": lambda: ParallelEngine(4),
    }
    cluster = None
    if dask:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None)
        engines["DaskEngine(4 processes)"] = lambda: DaskEngine(address=cluster.scheduler_address)
    times: dict[str, float] = {}
    try:
        if cluster is not None:  # workers import pipedag and its libraries once, outside the timing
            warm = _pg_config(url, "warm")
            waiting_flow(4, 1, 0.0).run(warm, engine=engines["DaskEngine(4 processes)"]())
            _drop_prefix(url, warm)
        for name, make in engines.items():
            config = _pg_config(url, "wait")
            try:
                times[name] = timed(lambda: waiting_flow(8, 4, sleep).run(config, engine=make()))  # noqa: B023
            finally:
                _drop_prefix(url, config)
    finally:
        if cluster is not None:
            cluster.close()
    raw = raw_waits(url, 32, 4, sleep)
    seq = times["sequential"]
    rows = [("raw psycopg, 4 connections", f"{raw:.2f} s")]
    for name, seconds in times.items():
        rows.append((name, f"{seconds:.2f} s  = {seconds / seq:.2f}x sequential, {seconds / raw:.2f}x raw"))
    report(f"database waits: 8 branches x 4 tasks, pg_sleep({sleep}) each (goal <= 0.35x)", rows)
    return {name: seconds / seq for name, seconds in times.items()}


# ------------------------------------------------------------------ 2. CPU-bound DuckDB


def cpu_sql(i: int, size: int) -> str:
    """A CPU-bound statement DuckDB runs on one thread (a recursive CTE cannot be parallelized)."""
    return (
        f"WITH RECURSIVE r(n, acc) AS (SELECT 0, {i}::BIGINT UNION ALL "
        f"SELECT n + 1, (acc * 31 + n) % 1000003 FROM r WHERE n < {size}) SELECT max(acc) AS m FROM r"
    )


def cpu_flow(tasks: int, size: int) -> Flow:
    """``tasks`` independent lazy tasks, each one CPU-bound statement."""

    @materialize(lazy=True)
    def crunch(i: int) -> Any:
        return sa.text(cpu_sql(i, size))

    with Flow("cpu") as flow, Stage("cpu"):
        for i in range(tasks):
            crunch(i)
    return flow


def raw_cpu(tasks: int, size: int, threads: int) -> float:
    """Seconds for the same statements through the duckdb driver, on ``threads`` cursors of one file."""
    import tempfile

    import duckdb

    path = os.path.join(tempfile.mkdtemp(prefix="pipedag-bench-cpu-"), "raw.duckdb")
    con = duckdb.connect(path)
    queue = list(range(tasks))
    lock = threading.Lock()

    def worker() -> None:
        cursor = con.cursor()
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            cursor.execute(f"CREATE TABLE t{i} AS {cpu_sql(i, size)}").fetchall()

    def run() -> None:
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    try:
        return timed(run)
    finally:
        con.close()


def cpu_bound(tasks: int, size: int) -> dict[str, float]:
    """Section 2: ParallelEngine(2) against sequential on CPU-bound DuckDB SQL."""
    seq = timed(lambda: cpu_flow(tasks, size).run(temp_config("cpu-seq"), engine=SequentialEngine()))
    par = timed(lambda: cpu_flow(tasks, size).run(temp_config("cpu-par"), engine=ParallelEngine(2)))
    raw1, raw2 = raw_cpu(tasks, size, 1), raw_cpu(tasks, size, 2)
    report(
        f"CPU-bound DuckDB SQL: {tasks} independent tasks (goal <= 0.75x)",
        [
            ("raw duckdb, 1 connection", f"{raw1:.2f} s"),
            ("raw duckdb, 2 cursors", f"{raw2:.2f} s  = {raw2 / raw1:.2f}x one connection"),
            ("sequential", f"{seq:.2f} s  = {seq / raw1:.2f}x raw"),
            ("ParallelEngine(2)", f"{par:.2f} s  = {par / seq:.2f}x sequential, {par / raw2:.2f}x raw 2 cursors"),
        ],
    )
    return {"parallel_vs_sequential": par / seq}


# ------------------------------------------------------------------ 3. overhead


def overhead(url: str, dask: bool) -> dict[str, float]:
    """Section 3: cache-valid rerun under ParallelEngine; per-task cost of DaskEngine on a running cluster."""
    figures: dict[str, float] = {}
    flow = flow_overhead.build()
    n = len(flow.tasks)
    seq_config, par_config = temp_config("ovh-seq"), temp_config("ovh-par")
    flow.run(seq_config, engine=SequentialEngine())
    flow.run(par_config, engine=ParallelEngine(4))
    seq = min(timed(lambda: flow.run(seq_config, engine=SequentialEngine())) for _ in range(3))
    par = min(timed(lambda: flow.run(par_config, engine=ParallelEngine(4))) for _ in range(3))
    figures["parallel_rerun_vs_sequential"] = par / seq
    rows = [
        (f"sequential, {n}-task cache-valid rerun", f"{seq:.3f} s ({seq / n * 1000:.2f} ms/task)"),
        ("ParallelEngine(4), same", f"{par:.3f} s = {par / seq:.2f}x sequential (goal <= 1.5x)"),
    ]
    if dask:
        rows.extend(_dask_overhead(url, flow, n, figures))
    report("engine overhead", rows)
    return figures


def _dask_overhead(url: str, flow: Flow, n: int, figures: dict[str, float]) -> list[tuple[str, str]]:
    from distributed import LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    startup = time.perf_counter() - start
    seq_config, dask_config = _pg_config(url, "ovs"), _pg_config(url, "ovd")
    try:
        warm = _pg_config(url, "warm")  # workers import pipedag and its libraries once
        flow.run(warm, engine=DaskEngine(address=cluster.scheduler_address))
        _drop_prefix(url, warm)
        seq = timed(lambda: flow.run(seq_config, engine=SequentialEngine()))
        dsk = timed(lambda: flow.run(dask_config, engine=DaskEngine(address=cluster.scheduler_address)))
        rerun = timed(lambda: flow.run(dask_config, engine=DaskEngine(address=cluster.scheduler_address)))
    finally:
        cluster.close()
        _drop_prefix(url, seq_config)
        _drop_prefix(url, dask_config)
    per_task = (dsk - seq) / n * 1000
    figures["dask_ms_per_task"] = per_task
    return [
        ("PostgreSQL: sequential first run", f"{seq:.2f} s ({seq / n * 1000:.1f} ms/task)"),
        ("DaskEngine(2 processes), first run", f"{dsk:.2f} s: +{per_task:.1f} ms/task over sequential (goal <= 20)"),
        ("DaskEngine, cache-valid rerun", f"{rerun:.2f} s ({rerun / n * 1000:.1f} ms/task; nothing goes to workers)"),
        ("LocalCluster start-up (once per run without --address)", f"{startup:.2f} s"),
    ]


def main(
    url: str = URL, sleep: float = 0.2, cpu_tasks: int = 8, cpu_size: int = 400_000, dask: bool = True
) -> dict[str, float]:
    """Run all three sections and return their ratios."""
    quiet()
    figures = {f"waits {k}": v for k, v in database_waits(url, sleep, dask).items()}
    figures.update(cpu_bound(cpu_tasks, cpu_size))
    figures.update(overhead(url, dask))
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=URL)
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--cpu-tasks", type=int, default=8)
    parser.add_argument("--cpu-size", type=int, default=400_000)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    main(args.url, args.sleep, args.cpu_tasks, args.cpu_size, not args.skip_dask)
