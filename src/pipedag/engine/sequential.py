"""The sequential engine: runs a flow's tasks one by one, publishing each stage atomically."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipedag.config.context import ConfigContext
from pipedag.core.result import Result, TaskOutcome, TaskState
from pipedag.engine.events import RunListener, active_listeners
from pipedag.engine.progress import default_reporter
from pipedag.engine.task_runner import RunContext, TaskRun, TaskRunner
from pipedag.errors import ConfigError
from pipedag.log import get_logger
from pipedag.store.blob_store import open_blob_store
from pipedag.store.history import StageHistory
from pipedag.store.locks import instance_lock

if TYPE_CHECKING:
    from pipedag.core.flow import Flow, Stage
    from pipedag.core.task import TaskNode


class SequentialEngine:
    """Executes tasks in wiring order (a valid topological order) in this process.

    Args:
        config: The instance to run against.
        reporter: The progress display; defaults to a live status line on a terminal and
            plain log lines otherwise. Listeners activated with
            :func:`pipedag.engine.events.listening` are told about the run as well.
    """

    def __init__(self, config: ConfigContext, reporter: RunListener | None = None) -> None:
        self.config = config
        self.reporter = reporter

    def run(self, flow: Flow, *, fail_fast: bool, stages: Sequence[str] | None = None) -> Result:
        """Run ``flow``; see :meth:`pipedag.Flow.run`.

        Args:
            flow: The flow to run.
            fail_fast: Re-raise the first task exception.
            stages: Run only these stages; tasks of the other stages are not run and their
                published outputs feed the selected ones.

        Raises:
            ConfigError: for an unknown stage name, or when a selected stage needs a stage
                that was never published.
        """
        selected = select_stages(flow, stages)
        tasks = [node for stage in selected for node in stage.tasks]
        listeners = (self.reporter or default_reporter(), *active_listeners())
        store = self.config.create_store()
        outcomes: dict[TaskNode, TaskOutcome] = {}
        first_error: BaseException | None = None
        start = time.perf_counter()
        with instance_lock(self.config), store:
            run_id = store.begin_run(flow.name)
            get_logger().debug("run started", flow=flow.name, run_id=run_id, instance=self.config.instance_id)
            ctx = RunContext(store, self.config, run_id, open_blob_store(self.config, store))
            progress = _Progress(listeners, len(tasks))
            for listener in listeners:
                listener.run_started(flow, self.config, run_id, len(tasks))
            try:
                histories = store.load_history([s.name for s in flow.stages])
                ctx.blobs.attach(histories)
                feed_unselected(flow, selected, histories, ctx)
                for stage in selected:
                    error = self._run_stage(stage, ctx, histories[stage.name], outcomes, fail_fast, progress)
                    first_error = first_error or error
            finally:
                done = [o for o in outcomes.values() if o.state in (TaskState.RAN, TaskState.CACHE_VALID)]
                status = "succeeded" if first_error is None and len(done) == len(tasks) else "failed"
                store.end_run(run_id, status, _history_rows(outcomes.values()))
                get_logger().debug("run ended", flow=flow.name, run_id=run_id, status=status)
                result = Result(flow, self.config, outcomes, run_id, first_error)
                for listener in listeners:
                    listener.run_finished(result, time.perf_counter() - start)
        return result

    def _run_stage(
        self,
        stage: Stage,
        ctx: RunContext,
        history: StageHistory,
        outcomes: dict[TaskNode, TaskOutcome],
        fail_fast: bool,
        progress: _Progress,
    ) -> BaseException | None:
        """Run a stage's tasks, then publish it, or drop what it wrote if anything failed."""
        ctx.store.prepare_stage(stage.name)
        runner = TaskRunner(ctx, history)
        runs: list[TaskRun] = []
        error: BaseException | None = None
        for node in stage.tasks:
            progress.started(node)
            blocked = [u for u in node.upstream if u not in ctx.values]
            if blocked:
                reason = f"upstream task {blocked[0].label} did not succeed"
                progress.finished(outcomes, node, TaskOutcome(node.label, stage.name, TaskState.SKIPPED, reason))
                continue
            try:
                task_run = runner.run(node)
            except Exception as exc:  # the task's own error: reported, then re-raised or kept
                exc.add_note(f"(in pipedag task {node.label})")
                message = f"{type(exc).__name__}: {exc}"
                failed = TaskOutcome(node.label, stage.name, TaskState.FAILED, message, exception=exc)
                progress.finished(outcomes, node, failed)
                error = error or exc
                if fail_fast:
                    self._abandon(stage, ctx, runs)
                    raise
                continue
            runs.append(task_run)
            progress.finished(outcomes, node, task_run.outcome)
            ctx.values[node] = task_run.record.outputs
        if error is not None or len(runs) != len(stage.tasks):
            self._abandon(stage, ctx, runs)
            return error
        records = [r.record for r in runs]
        if ctx.store.publish_stage(stage.name, ctx.run_id, records, history):
            dropped = ctx.store.collect_garbage(stage.name, history)
            ctx.blobs.collect_garbage(stage.name, history)
            get_logger().debug("stage published", stage=stage.name, dropped_tables=len(dropped))
        else:
            get_logger().debug("stage unchanged", stage=stage.name)
        return None

    def _abandon(self, stage: Stage, ctx: RunContext, runs: list[TaskRun]) -> None:
        """Leave the published stage as it was: drop this run's tables and hide its outputs."""
        ctx.store.drop_tables([ref for r in runs for ref in r.written])
        ctx.blobs.delete(stage.name, [b.file for r in runs for b in r.written_blobs])
        for node in stage.tasks:
            ctx.values.pop(node, None)
        get_logger().warning("stage not published; its last good version stays in place", stage=stage.name)


class _Progress:
    """Numbers the tasks of a run and tells the listeners when each starts and ends."""

    def __init__(self, listeners: Sequence[RunListener], total: int) -> None:
        self.listeners = listeners
        self.total = total
        self.index = 0

    def started(self, node: TaskNode) -> None:
        self.index += 1
        for listener in self.listeners:
            listener.task_started(node, self.index, self.total)

    def finished(self, outcomes: dict[TaskNode, TaskOutcome], node: TaskNode, outcome: TaskOutcome) -> None:
        outcomes[node] = outcome
        for listener in self.listeners:
            listener.task_finished(outcome, self.index, self.total)


def select_stages(flow: Flow, stages: Sequence[str] | None) -> list[Stage]:
    """The stages to run, in flow order (all when ``stages`` is None).

    Raises:
        ConfigError: for a name that is not a stage of ``flow``.
    """
    if stages is None:
        return list(flow.stages)
    known = {s.name: s for s in flow.stages}
    unknown = [name for name in stages if name.lower() not in known]
    if unknown:
        raise ConfigError(
            f"Unknown stage {unknown[0]!r} in flow {flow.name!r}. Known stages: {', '.join(known) or 'none'}."
        )
    wanted = {name.lower() for name in stages}
    return [s for s in flow.stages if s.name in wanted]


def feed_unselected(
    flow: Flow, selected: list[Stage], histories: dict[str, StageHistory], ctx: RunContext
) -> None:
    """Hand the published outputs of stages left out of the run to the selected ones."""
    needed = {u for stage in selected for node in stage.tasks for u in node.upstream if u.stage not in selected}
    for node in needed:
        record = histories[node.stage.name].last_record(node.name)
        if record is None:
            raise ConfigError(
                f"Stage {node.stage.name!r} has no published output of task {node.label}, which the selected "
                f"stages need; run it first or add it to the selection (--stage {node.stage.name})."
            )
        ctx.values[node] = record.outputs


def _history_rows(outcomes: Any) -> list[dict[str, Any]]:
    """Rows of the run-history table, in execution order."""
    return [
        {
            "position": i,
            "stage": o.stage,
            "task": o.label.split(".", 1)[1],
            "decision": o.state.value,
            "reason": o.reason,
            "row_count": o.rows,
            "seconds": o.seconds,
            "started_at": dt.datetime.fromtimestamp(o.finished_at - o.seconds, dt.UTC).replace(tzinfo=None),
        }
        for i, o in enumerate(outcomes)
    ]
