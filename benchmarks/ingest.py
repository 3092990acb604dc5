"""Materializing a 5M x 5 pandas frame vs. raw DuckDB Arrow ingest of the same frame.

Two figures, both against the raw ingest measured in this run on fresh files:

* the task alone (its materialization as the run log reports it): target >= 90% of raw;
* a whole ``flow.run`` (config, lock, store connection, metadata, publish, run history):
  what a user waits for. Its fixed costs weigh more the smaller the frame.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from benchmarks.common import frame, quiet, report, temp_config, timed
from pipedag import Flow, Stage, materialize


def raw_ingest_seconds(df: pd.DataFrame) -> float:
    """pandas -> Arrow -> CREATE TABLE AS on a fresh DuckDB file, by hand."""
    path = Path(tempfile.mkdtemp(prefix="pipedag-bench-raw-")) / "raw.duckdb"
    con = duckdb.connect(str(path))

    def ingest() -> None:
        table = pa.Table.from_pandas(df, preserve_index=False)
        con.register("arrow_input", table)
        con.execute("CREATE TABLE t AS SELECT * FROM arrow_input").fetchall()
        con.unregister("arrow_input")

    try:
        return timed(ingest)
    finally:
        con.close()


def pipedag_seconds(df: pd.DataFrame) -> tuple[float, float]:
    """The task's materialization and the whole ``flow.run`` around it, on a fresh file."""
    config = temp_config("ingest")

    @materialize  # no version: always runs, so every call materializes
    def produce() -> pd.DataFrame:
        return df

    with Flow("bench") as flow, Stage("s"):
        produce()
    start = time.perf_counter()
    result = flow.run(config)
    whole = time.perf_counter() - start
    return result.outcomes[0].seconds, whole


def main(rows: int = 5_000_000, repeats: int = 5) -> dict[str, float]:
    """Alternate raw and pipedag ingest, keep the best of each, report throughput ratio."""
    quiet()
    df = frame(rows)
    raw, task, whole = [], [], []
    for _ in range(repeats):
        raw.append(raw_ingest_seconds(df))
        task_s, run_s = pipedag_seconds(df)
        task.append(task_s)
        whole.append(run_s)
    best_raw, best_task, best_run = min(raw), min(task), min(whole)
    ratio, run_ratio = best_raw / best_task, best_raw / best_run
    report(
        f"materialize a {rows:,} x 5 pandas frame into DuckDB",
        [
            ("raw Arrow ingest", f"{best_raw:.2f} s  ({rows / best_raw / 1e6:.2f} M rows/s)"),
            ("pipedag task", f"{best_task:.2f} s  ({rows / best_task / 1e6:.2f} M rows/s)"),
            ("pipedag whole flow.run", f"{best_run:.2f} s  ({rows / best_run / 1e6:.2f} M rows/s)"),
            ("throughput ratio, task", f"{ratio:.0%}  target >= 90%"),
            ("throughput ratio, whole run", f"{run_ratio:.0%}"),
        ],
    )
    return {"raw_s": best_raw, "pipedag_s": best_task, "run_s": best_run, "ratio": ratio, "run_ratio": run_ratio}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    main(args.rows, args.repeats)
