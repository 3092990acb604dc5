"""Materializing a 5M x 5 pandas frame vs. raw DuckDB Arrow ingest of the same frame.

Target: pipedag >= 90% of the raw throughput, both measured in this run on fresh files.
"""

from __future__ import annotations

import argparse
import tempfile
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


def pipedag_seconds(df: pd.DataFrame) -> float:
    """The task's materialization inside a real flow run (minus the run's fixed set-up)."""
    config = temp_config("ingest")

    @materialize  # no version: always runs, so every call materializes
    def produce() -> pd.DataFrame:
        return df

    with Flow("bench") as flow, Stage("s"):
        produce()
    result = flow.run(config)
    return result.outcomes[0].seconds


def main(rows: int = 5_000_000, repeats: int = 5) -> dict[str, float]:
    """Alternate raw and pipedag ingest, keep the best of each, report throughput ratio."""
    quiet()
    df = frame(rows)
    raw, ours = [], []
    for _ in range(repeats):
        raw.append(raw_ingest_seconds(df))
        ours.append(pipedag_seconds(df))
    best_raw, best_ours = min(raw), min(ours)
    ratio = best_raw / best_ours
    report(
        f"materialize a {rows:,} x 5 pandas frame into DuckDB",
        [
            ("raw Arrow ingest", f"{best_raw:.2f} s  ({rows / best_raw / 1e6:.2f} M rows/s)"),
            ("pipedag task", f"{best_ours:.2f} s  ({rows / best_ours / 1e6:.2f} M rows/s)"),
            ("throughput ratio", f"{ratio:.0%}  target >= 90%"),
        ],
    )
    return {"raw_s": best_raw, "pipedag_s": best_ours, "ratio": ratio}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    main(args.rows, args.repeats)
