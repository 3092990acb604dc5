"""What a run shows while it runs: a live status line on a terminal, log lines elsewhere.

Both displays end with the summary table (task, stage, decision, rows, seconds). Output goes
to stderr and respects pipedag's log level: at ``WARNING`` or above only failures are shown.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from pipedag.core.result import TaskState
from pipedag.engine.events import RunListener
from pipedag.engine.summary import render_summary
from pipedag.log import get_logger

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.core.result import Result, TaskOutcome
    from pipedag.core.task import TaskNode

_MARKS = {TaskState.RAN: "+", TaskState.CACHE_VALID: "=", TaskState.FAILED: "!", TaskState.SKIPPED: "-"}


def _info_enabled() -> bool:
    return bool(get_logger().is_enabled_for(logging.INFO))


class LogReporter(RunListener):
    """Plain structured log lines (one per task) and the summary table: for files, CI and pipes.

    Args:
        stream: Where the summary table goes (stderr by default).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def task_finished(self, outcome: TaskOutcome, index: int, total: int) -> None:
        """Log the task's decision (INFO) or failure (ERROR)."""
        log = get_logger()
        fields: dict[str, Any] = {"task": outcome.label, "n": f"{index}/{total}"}
        if outcome.state is TaskState.FAILED:
            log.error("failed", **fields, error=outcome.reason)
            return
        if outcome.state is TaskState.SKIPPED:
            log.info("skipped", **fields, reason=outcome.reason)
            return
        fields.update(rows=outcome.rows, ms=round(outcome.seconds * 1000, 1))
        if outcome.state is TaskState.RAN:
            fields["reason"] = outcome.reason
        log.info("ran" if outcome.state is TaskState.RAN else "cache hit", **fields)

    def run_finished(self, result: Result, seconds: float) -> None:
        """Print the summary table."""
        if _info_enabled():
            stream = self.stream or sys.stderr
            print(render_summary(result.outcomes, seconds), file=stream, flush=True)


class TerminalReporter(RunListener):
    """A status line redrawn in place (stage, task i/n, elapsed), one line per finished task.

    When an engine runs several tasks at once, the status line lists all of them
    (``3 running: s.a, s.b, t.c | 5/32 done``).

    A small daemon thread refreshes the elapsed time while a long task runs.

    Args:
        stream: A terminal (stderr by default).
        refresh: Seconds between redraws of the status line.
    """

    def __init__(self, stream: TextIO | None = None, refresh: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.refresh = refresh
        self._status = ""
        self._running: dict[str, str] = {}  # label -> status text of one running task
        self._done = 0
        self._total = 0
        self._start = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_started(self, flow: Flow, config: ConfigContext, run_id: int, total: int) -> None:
        """Start the clock and the redraw thread."""
        self._start = time.perf_counter()
        self._running.clear()
        self._done = 0
        self._write_line(f"pipedag run {run_id} of flow {flow.name} on instance {config.instance_name}: {total} tasks")
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="pipedag-progress", daemon=True)
        self._thread.start()

    def task_started(self, node: TaskNode, index: int, total: int) -> None:
        """Show which tasks are being worked on."""
        with self._lock:
            self._total = total
            self._running[node.label] = f"stage {node.stage.name} | task {index}/{total} {node.name}"
            self._status = self._running_status()
        self._draw()

    def _running_status(self) -> str:
        if len(self._running) <= 1:
            return next(iter(self._running.values()), "")
        return f"{len(self._running)} running: {', '.join(self._running)} | {self._done}/{self._total} done"

    def task_finished(self, outcome: TaskOutcome, index: int, total: int) -> None:
        """Print a permanent line for the task."""
        detail = outcome.reason if outcome.state is not TaskState.CACHE_VALID else ""
        rows = "" if outcome.rows is None else f"{outcome.rows} rows"
        mark, state = _MARKS[outcome.state], outcome.state.value
        text = f" {mark} {outcome.label:<40} {state:<11} {rows:>14} {outcome.seconds:7.2f}s"
        with self._lock:
            self._running.pop(outcome.label, None)
            self._done += 1
            self._status = self._running_status()
        self._write_line(f"{text}  {detail}".rstrip())

    def run_finished(self, result: Result, seconds: float) -> None:
        """Stop redrawing and print the summary table."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._status = ""
            self.stream.write("\r\033[K")
            self.stream.write(render_summary(result.outcomes, seconds) + "\n")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.refresh):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            if self._status:
                elapsed = time.perf_counter() - self._start
                self.stream.write(f"\r\033[K{self._status} | {elapsed:.1f}s")
                self.stream.flush()

    def _write_line(self, text: str) -> None:
        with self._lock:
            self.stream.write(f"\r\033[K{text}\n")
            self.stream.flush()
        self._draw()


def default_reporter(stream: TextIO | None = None) -> RunListener:
    """The terminal display when ``stream`` (stderr by default) is a TTY and INFO is on, else log lines."""
    target = stream or sys.stderr
    if target.isatty() and _info_enabled():
        return TerminalReporter(target)
    return LogReporter(stream)
