"""Upload and download of a big frame on PostgreSQL: pipedag against the raw drivers, same run.

Run: ``python -m benchmarks.postgres_io [--rows 5000000] [--url postgresql://...]``

Upload (pandas frame -> new table):
  * raw psycopg binary COPY, rows pre-built as Python tuples (COPY alone), and including
    building those tuples from the frame (what a caller holding a frame really pays);
  * raw ADBC ``adbc_ingest`` of the frame already converted to Arrow;
  * pipedag's path for a pandas task output (``PandasHook.materialize``: frame -> Arrow -> ADBC).
Download (table -> pandas):
  * raw ADBC ``fetch_arrow_table``;
  * pipedag's path (``PandasHook.retrieve``: ADBC Arrow -> pandas) and its Arrow part alone.
Each figure is the median of ``--repeat`` runs; ratios are throughput relative to the raw path.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def frame(rows: int) -> Any:
    """A frame of ``rows`` x 5: int, float, near-unique string, timestamp, bool."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "value": rng.random(rows),
            "label": pd.Series(np.char.add("item-", np.arange(rows).astype(str)), dtype=object),
            "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows) % 86_400, unit="s"),
            "flag": rng.random(rows) > 0.5,
        }
    )


def timed(fn: Callable[[], Any], before: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``fn`` over ``repeat`` runs, calling ``before`` (untimed) ahead of each."""
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(rows: int = 5_000_000, repeat: int = 3, url: str = URL) -> dict[str, float]:
    """Measure, print a table of seconds, rows/s and ratios, and return the ratios.

    Returns:
        ``upload_vs_copy``, ``upload_vs_adbc``, ``download_vs_adbc``, ``download_pandas_vs_adbc``:
        pipedag's throughput relative to the raw path.
    """
    import adbc_driver_postgresql.dbapi as adbc
    import psycopg
    import pyarrow as pa

    from pipedag import create_basic_pipedag_config
    from pipedag.store.hooks.pandas import PandasHook

    args = argparse.Namespace(rows=rows, repeat=repeat, url=url)
    df = frame(args.rows)
    table = pa.Table.from_pandas(df, preserve_index=False)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    con = psycopg.connect(args.url, autocommit=True)
    bulk = adbc.connect(args.url, autocommit=True)
    con.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
    target = f'"{schema}"."t"'
    ddl = f"CREATE TABLE {target} (id bigint, value double precision, label text, at timestamp, flag boolean)"

    def reset() -> None:
        con.execute(f"DROP TABLE IF EXISTS {target}")  # type: ignore[arg-type]

    def reset_with_table() -> None:
        reset()
        con.execute(ddl)  # type: ignore[arg-type]

    tuples: list[tuple[Any, ...]] = []

    def copy_rows(rows: list[tuple[Any, ...]]) -> None:
        with con.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:  # type: ignore[arg-type]
            copy.set_types(["int8", "float8", "text", "timestamp", "bool"])
            for row in rows:
                copy.write_row(row)

    def build_tuples() -> None:
        tuples[:] = list(df.itertuples(index=False, name=None))

    def copy_prebuilt() -> None:
        copy_rows(tuples)

    def copy_from_frame() -> None:
        copy_rows(list(df.itertuples(index=False, name=None)))

    def adbc_ingest() -> None:
        with bulk.cursor() as cur:
            cur.adbc_ingest("t", table, mode="create", db_schema_name=schema)

    cfg = create_basic_pipedag_config(args.url, schema_prefix=f"{schema}_").get()
    store = cfg.create_store()
    store.open()

    def pipedag_upload() -> None:
        PandasHook.materialize(store, df, schema, "t")

    build_tuples()
    results: list[tuple[str, float]] = []
    copy_seconds = timed(copy_prebuilt, reset_with_table, args.repeat)
    results.append(("upload: raw psycopg binary COPY (tuples pre-built)", copy_seconds))
    copy_all_seconds = timed(copy_from_frame, reset_with_table, args.repeat)
    results.append(("upload: raw psycopg binary COPY incl. building tuples", copy_all_seconds))
    tuples.clear()
    results.append(("upload: raw ADBC adbc_ingest (Arrow given)", timed(adbc_ingest, reset, args.repeat)))
    results.append(("upload: pipedag pandas -> Arrow -> ADBC", timed(pipedag_upload, reset, args.repeat)))

    def raw_fetch() -> None:
        with bulk.cursor() as cur:
            cur.execute(f"SELECT * FROM {target}")
            cur.fetch_arrow_table()

    def pipedag_arrow() -> None:
        store.read_arrow(schema, "t")

    def pipedag_pandas() -> None:
        store.read_arrow(schema, "t").to_pandas()

    results.append(("download: raw ADBC fetch_arrow_table", timed(raw_fetch, lambda: None, args.repeat)))
    results.append(("download: pipedag read_arrow", timed(pipedag_arrow, lambda: None, args.repeat)))
    results.append(("download: pipedag -> pandas (PandasHook)", timed(pipedag_pandas, lambda: None, args.repeat)))

    store.close()
    for (name,) in con.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [schema]).fetchall():
        con.execute(f'DROP SCHEMA "{name}" CASCADE')  # type: ignore[arg-type]
    bulk.close()
    con.close()

    baseline = {"upload": results[0][1], "download": results[4][1]}
    print(f"{args.rows:,} rows x 5 columns, median of {args.repeat}")
    print(f"{'path':58} {'seconds':>8} {'Mrows/s':>8} {'vs raw':>7}")
    for name, seconds in results:
        ratio = baseline[name.split(":", 1)[0]] / seconds
        print(f"{name:58} {seconds:8.2f} {args.rows / seconds / 1e6:8.2f} {ratio:7.0%}")
    print("'vs raw': throughput relative to raw COPY (tuples pre-built) for uploads, raw ADBC fetch for downloads.")
    seconds = dict(results)
    return {
        "upload_vs_copy": results[0][1] / results[3][1],
        "upload_vs_adbc": results[2][1] / results[3][1],
        "download_vs_adbc": results[4][1] / results[5][1],
        "download_pandas_vs_adbc": results[4][1] / seconds["download: pipedag -> pandas (PandasHook)"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=URL)
    cli = parser.parse_args()
    main(cli.rows, cli.repeat, cli.url)
