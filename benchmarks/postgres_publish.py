"""Publishing a PostgreSQL stage of 50 tables when one changed: cost per table, independent of rows.

Run: ``python -m benchmarks.postgres_publish [--tables 50] [--rows 1000 1000000]``

For each table size, a flow with one stage of ``--tables`` SQL tasks runs once; then one task's
version is bumped and the flow reruns: 49 tables are cache-valid (neither copied nor moved) and
one is rebuilt. Reported: the time of ``publish_stage`` in that rerun (re-pointing the changed
view and recording the version with its 50 task records in one transaction), per table, next to
the raw driver doing the same minimum work by hand (one view re-created plus ``--tables`` rows
inserted, in one psycopg transaction) in the same run.
Equal per-table figures for small and big tables show the publish is O(1) in rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any

URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def build(tables: int, rows: int, changed_version: str) -> Any:
    """A flow with one stage of ``tables`` lazy SQL tasks of ``rows`` rows each (task 0 has a variable version)."""
    import sqlalchemy as sa

    from pipedag import Flow, Stage, Table, materialize

    def task(i: int) -> Any:
        @materialize(name=f"t{i}", version=changed_version if i == 0 else "1")
        def make() -> Table:
            return Table(sa.text(f"SELECT g AS id, g * {i} AS v FROM generate_series(1, {rows}) AS g"), f"t{i}")

        return make

    with Flow("publish_bench") as flow, Stage("wide"):
        for i in range(tables):
            task(i)()
    return flow


def raw_views(url: str, tables: int, repeat: int) -> float:
    """Median seconds to re-point one view and insert ``tables`` record rows in one psycopg transaction."""
    import psycopg

    schema = f"rawb_{uuid.uuid4().hex[:8]}"
    times = []
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
        con.execute(f'CREATE TABLE "{schema}"."p" AS SELECT 1 AS id')  # type: ignore[arg-type]
        con.execute(f'CREATE TABLE "{schema}"."records" (run int, task text, payload text)')  # type: ignore[arg-type]
        for n in range(repeat):
            start = time.perf_counter()
            with con.transaction(), con.cursor() as cur:
                cur.execute(f'DROP VIEW IF EXISTS "{schema}"."v"')  # type: ignore[arg-type]
                cur.execute(f'CREATE VIEW "{schema}"."v" AS SELECT * FROM "{schema}"."p"')  # type: ignore[arg-type]
                cur.executemany(
                    f'INSERT INTO "{schema}"."records" VALUES (%s, %s, %s)',  # type: ignore[arg-type]
                    [(n, f"t{i}", "x" * 400) for i in range(tables)],
                )
            times.append(time.perf_counter() - start)
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]
    return statistics.median(times)


def measure(url: str, tables: int, rows: int, repeat: int) -> tuple[float, float]:
    """(median publish seconds, median whole-rerun seconds) when one of ``tables`` tasks changed."""
    import psycopg

    from pipedag import create_basic_pipedag_config
    from pipedag.store.base import SQLTableStore

    prefix = f"pb{uuid.uuid4().hex[:6]}_"
    cfg = create_basic_pipedag_config(url, schema_prefix=prefix, fail_fast=True).get()
    publish_times: list[float] = []
    original = SQLTableStore.publish_stage

    def timed_publish(self: SQLTableStore, *args: Any, **kwargs: Any) -> bool:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            publish_times.append(time.perf_counter() - start)

    SQLTableStore.publish_stage = timed_publish  # type: ignore[method-assign]
    try:
        build(tables, rows, "0").run(config=cfg)
        publish_times.clear()
        runs = []
        for n in range(1, repeat + 1):
            start = time.perf_counter()
            result = build(tables, rows, str(n)).run(config=cfg)
            runs.append(time.perf_counter() - start)
            assert sum(o.state.value == "cache-valid" for o in result.outcomes) == tables - 1
    finally:
        SQLTableStore.publish_stage = original  # type: ignore[method-assign]
        with psycopg.connect(url, autocommit=True) as con:
            for (name,) in con.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [prefix]
            ).fetchall():
                con.execute(f'DROP SCHEMA "{name}" CASCADE')  # type: ignore[arg-type]
    return statistics.median(publish_times), statistics.median(runs)


def main(
    tables: int = 50, rows: tuple[int, ...] = (1_000, 1_000_000), repeat: int = 5, url: str = URL
) -> dict[int, float]:
    """Print publish cost per table for each table size, next to the raw work; return ms/table per size."""
    from pipedag.log import set_level

    set_level("WARNING")  # measure work, not log printing
    args = argparse.Namespace(tables=tables, rows=rows, repeat=repeat, url=url)
    figures: dict[int, float] = {}
    raw = raw_views(args.url, args.tables, args.repeat)
    print(f"{args.tables} tables per stage, 1 changed, {args.tables - 1} cache-valid; median of {args.repeat}")
    print(f"raw psycopg: re-point 1 view + insert {args.tables} records in one transaction: {raw * 1000:.1f} ms")
    for size in args.rows:
        publish, rerun = measure(args.url, args.tables, size, args.repeat)
        print(
            f"rows/table {size:>9,}: publish {publish * 1000:6.1f} ms ({publish * 1000 / args.tables:.2f} ms/table, "
            f"{raw / publish:.0%} of raw speed); whole rerun {rerun * 1000:.0f} ms"
        )
        figures[size] = publish * 1000 / args.tables
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", default=URL)
    cli = parser.parse_args()
    main(cli.tables, tuple(cli.rows), cli.repeat, cli.url)
