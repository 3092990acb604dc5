"""Progress display: log lines and a summary table off a terminal, a live status line on one."""

from __future__ import annotations

import io
import time

import pandas as pd

from pipedag import ConfigContext, Flow, Stage, Table, materialize
from pipedag.engine.progress import LogReporter, TerminalReporter, default_reporter
from pipedag.engine.run import run_flow
from pipedag.engine.sequential import SequentialEngine
from pipedag.engine.summary import render_table


class FakeTTY(io.StringIO):
    """A text stream that says it is a terminal (the display only checks isatty)."""

    def isatty(self) -> bool:
        return True


def build() -> Flow:
    @materialize(version="1", name="numbers")
    def numbers() -> Table:
        return Table(pd.DataFrame({"x": range(5)}), "numbers")

    with Flow("progress") as flow, Stage("only"):
        numbers()
    return flow


def test_render_table_aligns_text_left_and_numbers_right() -> None:
    """Columns are padded to their widest cell, numbers right-aligned, None empty."""
    text = render_table(["name", "n"], [["a", 1], ["long", None], ["b", 100]])
    assert text.splitlines() == ["name    n", "----  ---", "a       1", "long", "b     100"]


def test_log_reporter_prints_the_summary_table(duckdb_config: ConfigContext) -> None:
    """Off a terminal the run ends with the summary table: task, stage, decision, rows, seconds."""
    out = io.StringIO()
    run_flow(build(), duckdb_config, SequentialEngine(), fail_fast=True, reporter=LogReporter(out))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["task", "stage", "decision", "rows", "seconds"]
    assert lines[2].split()[:4] == ["numbers", "only", "ran", "5"]
    assert lines[3].startswith("1 tasks in ") and lines[3].endswith(": 1 ran")


def test_terminal_reporter_redraws_a_status_line(duckdb_config: ConfigContext) -> None:
    """On a terminal the status line names stage and task i/n and is cleared before the summary."""
    tty = FakeTTY()
    run_flow(build(), duckdb_config, SequentialEngine(), fail_fast=True, reporter=TerminalReporter(tty, refresh=0.01))
    text = tty.getvalue()
    assert "stage only | task 1/1 numbers |" in text
    assert " + only.numbers" in text
    assert "\r\x1b[K" in text
    assert text.rstrip().endswith("1 tasks in " + text.rstrip().rsplit("1 tasks in ", 1)[1])


def test_default_reporter_depends_on_the_stream() -> None:
    """A TTY gets the live display, anything else plain log lines."""
    assert isinstance(default_reporter(FakeTTY()), TerminalReporter)
    assert isinstance(default_reporter(io.StringIO()), LogReporter)


def test_terminal_reporter_lists_tasks_running_at_once(duckdb_config: ConfigContext) -> None:
    """Under ParallelEngine the status line names every task that runs at the same moment."""
    import threading

    from pipedag import ParallelEngine

    both = threading.Barrier(2)

    @materialize(version="1")
    def left() -> pd.DataFrame:
        both.wait(10)
        time.sleep(0.1)  # long enough for a redraw while both run
        return pd.DataFrame({"a": [1]})

    @materialize(version="1")
    def right() -> pd.DataFrame:
        both.wait(10)
        time.sleep(0.1)
        return pd.DataFrame({"b": [1]})

    with Flow("progress") as flow, Stage("s"):
        left()
        right()
    tty = FakeTTY()
    run_flow(flow, duckdb_config, ParallelEngine(2), fail_fast=True, reporter=TerminalReporter(tty, refresh=0.01))
    assert "2 running: s.left, s.right | 0/2 done" in tty.getvalue()
