"""Dry runs: what a run would do, computed by the run's own scheduler and decision path.

Nothing expensive is executed: non-lazy tasks are decided from their cache keys without being
called; lazy tasks are called (cheap by contract) to render their SQL, which is never run.
A task downstream of one that would run is reported as running, because its inputs are
unknown until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipedag.engine.run import feed_unselected, select_stages
from pipedag.engine.scheduler import Scheduler
from pipedag.engine.task_runner import RunContext
from pipedag.store.blob_store import open_blob_store

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow

RUN = "run"
CACHE_VALID = "cache-valid"


@dataclass(frozen=True)
class PlannedTask:
    """One task's predicted decision.

    Attributes:
        label: ``stage.task``.
        stage: The stage name.
        action: ``"run"`` or ``"cache-valid"``.
        reason: Why (``"version 1.0 -> 1.1"``, ``"input inputs.names changed"``, ``"cache hit"``).
        cache_key: The cache key when it could be computed (inputs known).
    """

    label: str
    stage: str
    action: str
    reason: str
    cache_key: str | None = None


@dataclass
class Plan:
    """The predicted decisions of a whole run, in execution order."""

    flow: str
    instance: str
    tasks: list[PlannedTask] = field(default_factory=list)

    @property
    def to_run(self) -> list[str]:
        """Labels of the tasks that would run."""
        return [t.label for t in self.tasks if t.action == RUN]

    def task(self, label: str) -> PlannedTask:
        """The planned task ``stage.task``.

        Raises:
            KeyError: if the plan has no such task.
        """
        for planned in self.tasks:
            if planned.label == label:
                return planned
        raise KeyError(f"No task {label!r} in the plan; tasks: {', '.join(t.label for t in self.tasks)}.")


def plan_flow(flow: Flow, config: ConfigContext, stages: Sequence[str] | None = None) -> Plan:
    """Predict what ``flow.run(config)`` would do, without running tasks or writing tables.

    Args:
        flow: The flow.
        config: The instance whose stored history decides.
        stages: Plan only these stages (as ``pipedag run --stage``).

    Returns:
        The plan, task by task.
    """
    selected = select_stages(flow, stages)
    plan = Plan(flow.name, config.instance_name)
    with config.create_store() as store:
        histories = store.load_history([s.name for s in flow.stages])
        ctx = RunContext(store, config, run_id=0, blobs=open_blob_store(config, store))
        ctx.blobs.attach(histories)
        feed_unselected(flow, selected, histories, ctx)
        for node, decision, waiting in Scheduler(ctx, histories, selected).predict():
            if decision is None:
                assert waiting is not None
                reason = f"input from {waiting.label}, which will run first"
                plan.tasks.append(PlannedTask(node.label, node.stage.name, RUN, reason))
                continue
            action = CACHE_VALID if decision.hit is not None else RUN
            plan.tasks.append(PlannedTask(node.label, node.stage.name, action, decision.reason, decision.key))
    return plan
