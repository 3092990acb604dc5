"""Cost of keeping run history: closing a run of N tasks vs the raw DuckDB statements doing the same.

pipedag writes the per-task history with one multi-row insert in the transaction that closes
the run, binding one array per column (``INSERT ... SELECT unnest(...)``). The baseline is the raw
DuckDB driver running the same two statements. Target: within 2x of it and well under 0.1 ms per
task (binding 8 scalar parameters per row instead costs ~0.2 ms per task on DuckDB).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import quiet, report, temp_config


def _rows(tasks: int) -> list[dict[str, Any]]:
    return [
        {
            "position": i,
            "stage": f"stage_{i % 5}",
            "task": f"task_{i}",
            "decision": "cache-valid",
            "reason": "cache hit",
            "row_count": 1000,
            "seconds": 0.001,
        }
        for i in range(tasks)
    ]


def _pipedag(tasks: int, repeats: int) -> float:
    config = temp_config("history")
    rows = _rows(tasks)
    times = []
    with config.create_store() as store:
        for _ in range(repeats):
            run_id = store.begin_run("bench")
            start = time.perf_counter()
            store.end_run(run_id, "succeeded", rows)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _raw(tasks: int, repeats: int) -> float:
    import duckdb

    path = Path(temp_config("history_raw").table_store_url.removeprefix("duckdb:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE runs (run_id BIGINT PRIMARY KEY, status TEXT);"
        "CREATE TABLE task_runs (run_id BIGINT, position INT, stage TEXT, task TEXT, decision TEXT, "
        "reason TEXT, row_count BIGINT, seconds DOUBLE, PRIMARY KEY (run_id, position))"
    )
    rows = _rows(tasks)
    columns = list(rows[0])
    arrays = [[r[c] for r in rows] for c in columns]
    select = ", ".join(f"unnest(${i + 2})" for i in range(len(columns)))
    times = []
    for run_id in range(repeats):
        con.execute("INSERT INTO runs VALUES ($1, 'running')", [run_id])
        start = time.perf_counter()
        con.execute("BEGIN")
        con.execute("UPDATE runs SET status = 'succeeded' WHERE run_id = $1", [run_id])
        con.execute(f"INSERT INTO task_runs SELECT $1, {select}", [run_id, *arrays])
        con.execute("COMMIT")
        times.append(time.perf_counter() - start)
    con.close()
    return statistics.median(times)


def main(tasks: int = 100, repeats: int = 20) -> dict[str, float]:
    """Median time to close a run with ``tasks`` history rows, pipedag vs raw DuckDB."""
    quiet()
    ours = _pipedag(tasks, repeats)
    raw = _raw(tasks, repeats)
    report(
        f"run history: closing a run of {tasks} tasks",
        [
            ("pipedag end_run (+ history rows)", f"{ours * 1000:.2f} ms  ({ours / tasks * 1000:.3f} ms/task)"),
            ("raw duckdb update + unnest insert", f"{raw * 1000:.2f} ms"),
            ("ratio pipedag / raw", f"{ours / raw:.2f}"),
        ],
    )
    return {"pipedag_s": ours, "raw_s": raw, "ratio": ours / raw}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    main(args.tasks, args.repeats)
