"""The sequential engine: runs a flow's tasks one by one, publishing each stage atomically."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pipedag.config.context import ConfigContext
from pipedag.core.result import Result, TaskOutcome, TaskState
from pipedag.engine.task_runner import RunContext, TaskRun, TaskRunner
from pipedag.log import get_logger
from pipedag.store.blob_store import FileBlobStore, blob_root
from pipedag.store.history import StageHistory

if TYPE_CHECKING:
    from pipedag.core.flow import Flow, Stage
    from pipedag.core.task import TaskNode


class SequentialEngine:
    """Executes tasks in wiring order (a valid topological order) in this process.

    Args:
        config: The instance to run against.
    """

    def __init__(self, config: ConfigContext) -> None:
        self.config = config

    def run(self, flow: Flow, *, fail_fast: bool) -> Result:
        """Run ``flow``; see :meth:`pipedag.Flow.run`."""
        store = self.config.create_store()
        outcomes: dict[TaskNode, TaskOutcome] = {}
        first_error: BaseException | None = None
        start = time.perf_counter()
        with store:
            run_id = store.begin_run(flow.name)
            log = get_logger()
            log.debug("run started", flow=flow.name, run_id=run_id, instance=self.config.instance_id)
            try:
                histories = store.load_history([s.name for s in flow.stages])
                blobs = FileBlobStore(blob_root(self.config, store), self.config.instance_id)
                for stage_name, history in histories.items():
                    history.existing_blobs = blobs.existing(stage_name)
                ctx = RunContext(store, self.config, run_id, blobs)
                for stage in flow.stages:
                    error = self._run_stage(stage, ctx, histories[stage.name], outcomes, fail_fast)
                    first_error = first_error or error
            finally:
                status = "succeeded" if first_error is None and len(outcomes) == len(flow.tasks) else "failed"
                store.end_run(run_id, status)
                log.info(
                    "flow " + status,
                    flow=flow.name,
                    run_id=run_id,
                    tasks=len(flow.tasks),
                    ran=sum(o.state is TaskState.RAN for o in outcomes.values()),
                    cached=sum(o.state is TaskState.CACHE_VALID for o in outcomes.values()),
                    ms=round((time.perf_counter() - start) * 1000, 1),
                )
        return Result(flow, self.config, outcomes, run_id, first_error)

    def _run_stage(
        self,
        stage: Stage,
        ctx: RunContext,
        history: StageHistory,
        outcomes: dict[TaskNode, TaskOutcome],
        fail_fast: bool,
    ) -> BaseException | None:
        """Run a stage's tasks, then publish it, or drop what it wrote if anything failed."""
        ctx.store.prepare_stage(stage.name)
        runner = TaskRunner(ctx, history)
        runs: list[TaskRun] = []
        error: BaseException | None = None
        for node in stage.tasks:
            blocked = [u for u in node.upstream if u not in ctx.values]
            if blocked:
                reason = f"upstream task {blocked[0].label} did not succeed"
                outcomes[node] = TaskOutcome(node.label, stage.name, TaskState.SKIPPED, reason)
                get_logger().info("skipped", task=node.label, reason=reason)
                continue
            try:
                task_run = runner.run(node)
            except Exception as exc:  # the task's own error: reported, then re-raised or kept
                exc.add_note(f"(in pipedag task {node.label})")
                outcomes[node] = TaskOutcome(node.label, stage.name, TaskState.FAILED, str(exc), exception=exc)
                get_logger().error("failed", task=node.label, error=f"{type(exc).__name__}: {exc}")
                error = error or exc
                if fail_fast:
                    self._abandon(stage, ctx, runs)
                    raise
                continue
            runs.append(task_run)
            outcomes[node] = task_run.outcome
            ctx.values[node] = task_run.record.outputs
        if error is not None or len(runs) != len(stage.tasks):
            self._abandon(stage, ctx, runs)
            return error
        records = [r.record for r in runs]
        if ctx.store.publish_stage(stage.name, ctx.run_id, records, history):
            dropped = ctx.store.collect_garbage(stage.name, history)
            ctx.blobs.publish(stage.name, history.published_blobs())
            ctx.blobs.delete(stage.name, history.existing_blobs - history.referenced_blobs())
            history.existing_blobs &= history.referenced_blobs()
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
