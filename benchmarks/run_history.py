"""Cost of keeping run history: closing a run of 200 tasks vs the raw DuckDB insert of the same rows.

pipedag writes the per-task history with one multi-row insert in the transaction that closes the
run. Target: within a few times the raw driver's own multi-row insert, and a few milliseconds in
absolute terms. Run: ``python -m benchmarks.run_history``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

TASKS = 200
REPEATS = 20


def _rows() -> list[dict[str, object]]:
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
        for i in range(TASKS)
    ]


def _pipedag(path: Path) -> float:
    from pipedag import create_basic_pipedag_config

    config = create_basic_pipedag_config(f"duckdb:///{path}").get()
    rows = _rows()
    times = []
    with config.create_store() as store:
        for _ in range(REPEATS):
            run_id = store.begin_run("bench")
            start = time.perf_counter()
            store.end_run(run_id, "succeeded", rows)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _raw(path: Path) -> float:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE runs (run_id BIGINT PRIMARY KEY, status TEXT);"
        "CREATE TABLE task_runs (run_id BIGINT, position INT, stage TEXT, task TEXT, decision TEXT, "
        "reason TEXT, row_count BIGINT, seconds DOUBLE, PRIMARY KEY (run_id, position))"
    )
    rows = _rows()
    times = []
    for run_id in range(REPEATS):
        con.execute("INSERT INTO runs VALUES ($1, 'running')", [run_id])
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        params = [v for r in rows for v in (run_id, *r.values())]
        start = time.perf_counter()
        con.execute("BEGIN")
        con.execute("UPDATE runs SET status = 'succeeded' WHERE run_id = ?", [run_id])
        con.execute(f"INSERT INTO task_runs VALUES {values}", params)
        con.execute("COMMIT")
        times.append(time.perf_counter() - start)
    con.close()
    return statistics.median(times)


def main() -> None:
    """Print both medians and their ratio."""
    with tempfile.TemporaryDirectory() as folder:
        ours = _pipedag(Path(folder) / "pipedag.duckdb")
        raw = _raw(Path(folder) / "raw.duckdb")
    print(f"end_run with {TASKS} history rows (pipedag): {ours * 1000:.2f} ms")
    print(f"same update + multi-row insert (raw duckdb): {raw * 1000:.2f} ms")
    print(f"ratio pipedag / raw: {ours / raw:.2f}")


if __name__ == "__main__":
    main()
