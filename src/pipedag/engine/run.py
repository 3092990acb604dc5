"""Running a flow: the instance lock, the run record and the scheduler, around any engine."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipedag.core.result import Result, TaskState
from pipedag.engine.events import RunListener, active_listeners
from pipedag.engine.progress import default_reporter
from pipedag.engine.scheduler import Scheduler
from pipedag.engine.task_runner import RunContext
from pipedag.errors import ConfigError
from pipedag.log import get_logger
from pipedag.store.blob_store import open_blob_store
from pipedag.store.history import StageHistory
from pipedag.store.locks import instance_lock

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow, Stage
    from pipedag.core.result import TaskOutcome
    from pipedag.engine.base import Engine


def run_flow(
    flow: Flow,
    config: ConfigContext,
    engine: Engine,
    *,
    fail_fast: bool,
    stages: Sequence[str] | None = None,
    reporter: RunListener | None = None,
) -> Result:
    """Run ``flow`` on ``engine``; see :meth:`pipedag.Flow.run`.

    The driver holds the instance lock for the whole run, records the run and its task
    history, and publishes stages; the engine only executes tasks.

    Args:
        flow: The flow to run.
        config: The instance to run against.
        engine: Where tasks execute.
        fail_fast: Re-raise the first task exception.
        stages: Run only these stages; tasks of the other stages are not run and their
            published outputs feed the selected ones.
        reporter: The progress display; defaults to a live status line on a terminal and
            plain log lines otherwise. Listeners activated with
            :func:`pipedag.engine.events.listening` are told about the run as well.

    Raises:
        ConfigError: for an unknown stage name, when a selected stage needs a stage that was
            never published, or when the engine cannot run against the instance's store.
    """
    selected = select_stages(flow, stages)
    total = sum(len(stage.tasks) for stage in selected)
    listeners = (reporter or default_reporter(), *active_listeners())
    store = config.create_store()
    scheduler: Scheduler | None = None
    start = time.perf_counter()
    with instance_lock(config), store:
        blobs = open_blob_store(config, store)
        engine.start(config, store, blobs)  # refuses before the run is recorded if it cannot run here
        try:
            run_id = store.begin_run(flow.name)
            get_logger().debug("run started", flow=flow.name, run_id=run_id, instance=config.instance_id)
            ctx = RunContext(store, config, run_id, blobs)
            for listener in listeners:
                listener.run_started(flow, config, run_id, total)
            try:
                histories = store.load_history([s.name for s in flow.stages])
                ctx.blobs.attach(histories)
                feed_unselected(flow, selected, histories, ctx)
                scheduler = Scheduler(ctx, histories, selected, listeners, fail_fast)
                scheduler.run(engine)
            finally:
                outcomes = scheduler.outcomes if scheduler is not None else {}
                error = scheduler.error if scheduler is not None else None
                done = [o for o in outcomes.values() if o.state in (TaskState.RAN, TaskState.CACHE_VALID)]
                status = "succeeded" if error is None and len(done) == total else "failed"
                store.end_run(run_id, status, _history_rows(outcomes.values()))
                get_logger().debug("run ended", flow=flow.name, run_id=run_id, status=status)
                result = Result(flow, config, outcomes, run_id, error)
                for listener in listeners:
                    listener.run_finished(result, time.perf_counter() - start)
        finally:
            engine.stop()
    return result


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
    rows: list[dict[str, Any]] = []
    for i, o in enumerate(outcomes):
        outcome: TaskOutcome = o
        started = dt.datetime.fromtimestamp(outcome.finished_at - outcome.seconds, dt.UTC).replace(tzinfo=None)
        rows.append(
            {
                "position": i,
                "stage": outcome.stage,
                "task": outcome.label.split(".", 1)[1],
                "decision": outcome.state.value,
                "reason": outcome.reason,
                "row_count": outcome.rows,
                "seconds": outcome.seconds,
                "started_at": started,
            }
        )
    return rows
