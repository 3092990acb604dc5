"""First page load of ``pipedag ui``: a 100-task flow over 10 stages with 50 runs of history.

A real ``pipedag ui`` server (its own process) on a real DuckDB file. "First load" is what the
page fetches before it can draw: the HTML, its script and style sheet, and ``/api/overview``
(runs, the latest run's graph laid out, the live-update token). A request opens the file
read-only and releases it, unless the file is unchanged since the same request was last answered
(its size and modification time say so), which is the usual case for a page load; the cost of a
request after a write is measured separately, in-process. Baseline: the raw DuckDB driver opening the file read-only and
reading the same rows (runs with decision counts, the latest run's task rows, the task records).
When a system Chromium and Playwright are present, the time from navigation until all 100
tasks are drawn is measured in a headless browser as well. Target: first load < 300 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import quiet, report
from benchmarks.flow_overhead import build
from pipedag import create_basic_pipedag_config

FIRST_LOAD = ("", "static/app.js", "static/app.css", "api/overview")


def _history(folder: Path, stages: int, per_stage: int, runs: int) -> Path:
    path = folder / "ui.duckdb"
    config = create_basic_pipedag_config(f"duckdb:///{path}", fail_fast=True).get()
    flow = build(stages, per_stage)
    for _ in range(runs):
        flow.run(config=config)
    (folder / "pipedag.yaml").write_text(
        f'name: bench\ninstances:\n  default:\n    table_store:\n      args:\n        url: "duckdb:///{path}"\n'
    )
    return path


def _serve(folder: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "pipedag.cli.main", "--config", str(folder / "pipedag.yaml"), "ui"]
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    match = re.search(r"http://\S+/", process.stdout.readline())
    if match is None:
        process.kill()
        raise RuntimeError("pipedag ui did not print its address")
    return process, match.group(0)


def _first_load(url: str) -> float:
    start = time.perf_counter()
    for path in FIRST_LOAD:
        with urllib.request.urlopen(url + path) as response:
            response.read()
    return time.perf_counter() - start


def _cold(path: Path) -> float:
    """The overview as a request whose database changed since the last one: open, read, close."""
    from pipedag.ui import source, views

    config = create_basic_pipedag_config(f"duckdb:///{path}").get()
    start = time.perf_counter()
    with source.reading(config) as store:
        views.overview(store, source.catalog(store), config, None, None)
    return time.perf_counter() - start


def _raw(path: Path) -> float:
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    runs = con.execute(
        "SELECT run_id, flow, status, started_at, ended_at FROM pipedag_metadata.runs ORDER BY run_id DESC LIMIT 200"
    ).fetchall()
    con.execute(
        "SELECT run_id, decision, count(*) FROM pipedag_metadata.task_runs GROUP BY run_id, decision"
    ).fetchall()
    con.execute("SELECT * FROM pipedag_metadata.task_runs WHERE run_id = $1", [runs[0][0]]).fetchall()
    con.execute("SELECT * FROM pipedag_metadata.task_records").fetchall()
    con.close()
    return time.perf_counter() - start


def _browser(url: str, tasks: int, repeats: int) -> float | None:
    from tests.ui.browser import chromium_path

    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if path is None:
        return None
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True)
        page = browser.new_page()
        for _ in range(repeats):
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_function(f"document.querySelectorAll('.task').length === {tasks}")
            times.append(time.perf_counter() - start)
        browser.close()
    return statistics.median(times)


def main(
    stages: int = 10, per_stage: int = 10, runs: int = 50, repeats: int = 20, browser: bool = True
) -> dict[str, Any]:
    """Median first-load time of the page vs reading the same metadata with the raw driver."""
    quiet()
    folder = Path(tempfile.mkdtemp(prefix="pipedag-bench-ui-"))
    path = _history(folder, stages, per_stage, runs)
    process, url = _serve(folder)
    try:
        _first_load(url)  # warm-up: the server imports its store modules on the first request
        ours = statistics.median(_first_load(url) for _ in range(repeats))
        raw = statistics.median(_raw(path) for _ in range(repeats))
        cold = statistics.median(_cold(path) for _ in range(repeats))
        drawn = _browser(url, stages * per_stage, max(3, repeats // 4)) if browser else None
    finally:
        process.terminate()
        process.wait(10)
    rows = [
        ("HTTP first load (html, js, css, overview)", f"{ours * 1000:.1f} ms"),
        ("overview after a write (open, read, lay out, close)", f"{cold * 1000:.1f} ms"),
        ("raw duckdb: open read-only + same reads", f"{raw * 1000:.1f} ms"),
        ("ratio overview after a write / raw", f"{cold / raw:.2f}"),
    ]
    if drawn is not None:
        rows.append(("headless chromium: navigate until all tasks drawn", f"{drawn * 1000:.1f} ms"))
    report(f"pipedag ui: {stages * per_stage} tasks, {runs} runs of history", rows)
    return {"first_load_s": ours, "cold_s": cold, "raw_s": raw, "ratio": cold / raw, "browser_s": drawn}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--per-stage", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    main(args.stages, args.per_stage, args.runs, args.repeats)
