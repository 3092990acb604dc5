"""The engine behaviour of incremental tasks (``@materialize(incremental=...)``).

Deciding is the ordinary cache decision: when neither the task's version nor any input table
changed, the task is cache-valid and nothing is read or written (a no-op costs the same at any
table size). It still runs when keys wait in quarantine for a retry or a full refresh was
asked for. ``pipedag plan`` (a dry run) also counts the due keys per reason.

Executing hands the due keys chunk by chunk to the function (:mod:`pipedag.incremental.run`)
and returns, besides the task record, the statements that apply the delta; the scheduler runs
them in the transaction that publishes the stage.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, cast

from pipedag.cache.hashing import stable_hash
from pipedag.core import context
from pipedag.core.table import Table, TableRef
from pipedag.engine.kinds import TaskKind, register_kind
from pipedag.errors import TaskError
from pipedag.incremental import state as st
from pipedag.incremental.run import IncrementalTask as IncrementalRun
from pipedag.incremental.sources import Source

if TYPE_CHECKING:
    import pyarrow as pa

    from pipedag.core.task import IncrementalTask, TaskNode
    from pipedag.engine.task_runner import Decision, TaskRun, TaskRunner
    from pipedag.store.base import SQLTableStore

#: Marks a decision that must rebuild the task from scratch (travels with the decision to a worker).
FULL_REFRESH = "full refresh"


class IncrementalKind(TaskKind):
    """Decides and executes incremental tasks."""

    def decide(self, runner: TaskRunner, node: TaskNode) -> Decision:
        """The cache decision, overridden when a full refresh or a retry is due; dry runs count keys."""
        decision = runner.decide(node)
        refresh = node.label in context.full_refresh_var.get()
        decision.result = FULL_REFRESH if refresh else None
        if decision.hit is not None:
            why = FULL_REFRESH if refresh else _retry_pending(runner.ctx.store, node)
            if why is None:
                return decision
            decision.hit, decision.reason = None, why
        if runner.ctx.run_id == 0:  # a dry run (pipedag plan): say how many keys are due and why
            decision.reason = f"{decision.reason}; {self._job(runner, decision).plan().describe()}"
        return decision

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        """Compute the due keys; the delta is applied when the stage is published."""
        from pipedag.core.result import TaskState
        from pipedag.engine.task_runner import TaskRun
        from pipedag.store.history import TaskRecord

        node = decision.node
        job = self._job(runner, decision)
        out = job.execute(_ChunkCaller(runner, decision))
        ref = TableRef(node.stage.name, out.name, out.schema, out.physical_name, out.key, out.columns, out.rows)
        runner._claim(node, ref.name, "its incremental output")
        s = job.summary
        detail = f"{job.plan().describe()}; rows in {s.rows_in}, out {s.rows_out}"
        reason = detail if decision.reason == job.plan().why else f"{decision.reason}; {detail}"
        state = TaskState.RAN
        if s.failed or s.exhausted:
            state = TaskState.FAILED
            reason += "; " + _quarantine_report(job)
        outcome = runner._outcome(node, state, reason, ref, decision.start)
        outcome.detail = detail
        written = [TableRef(node.stage.name, name, schema, name, "") for schema, name in job.written]
        record = TaskRecord(node.name, decision.key, decision.ingredients, ref)
        return TaskRun(record, outcome, written, publish_sql=job.statements)

    def _job(self, runner: TaskRunner, decision: Decision) -> IncrementalRun:
        node = decision.node
        task = cast("IncrementalTask", node.task)
        bound = _bind(node, decision.inputs)
        sources = [Source.from_ref(name, v) for name, v in bound.arguments.items() if isinstance(v, TableRef)]
        if not sources:
            raise TaskError(f"Incremental task {node.label} received no input table; it needs at least one.")
        ingredients = decision.ingredients
        version = stable_hash([ingredients.version, ingredients.arguments, ingredients.cache_function])
        return IncrementalRun(
            runner.ctx.store, task.incremental, stage=node.stage.name, task=node.name, sources=sources,
            version=version, run_id=runner.ctx.run_id, output_name=node.name,
            full_refresh=decision.result == FULL_REFRESH,
        )


class _ChunkCaller:
    """Calls the task's function on one chunk: Arrow in as the task's input type, Arrow out."""

    def __init__(self, runner: TaskRunner, decision: Decision) -> None:
        self.node = decision.node
        self.bound = _bind(self.node, decision.inputs)
        self.as_type = runner._input_type(self.node)
        from pipedag.store.hooks import hook_for_type

        self.hook = hook_for_type(self.as_type)
        if self.hook is None or self.as_type.__module__.startswith("sqlalchemy"):
            raise TaskError(
                f"Incremental task {self.node.label} takes input_type={self.as_type!r}; incremental tasks receive "
                "frames: pandas.DataFrame, polars.DataFrame or pyarrow.Table."
            )

    def __call__(self, chunk: dict[str, pa.Table]) -> pa.Table:
        bound = _bind(self.node, (self.bound.args, self.bound.kwargs))
        for name, rows in chunk.items():
            bound.arguments[name] = self._convert(rows)
        result = self.node.task.fn(*bound.args, **bound.kwargs)
        return _to_arrow(self.node, result)

    def _convert(self, rows: pa.Table) -> Any:
        # Feed the hook's own retrieve from memory, so every frame type converts exactly as a
        # whole input table would.
        assert self.hook is not None
        ref = TableRef("", "", "", "", "")
        return self.hook.retrieve(cast("SQLTableStore", _InMemory(rows)), ref, self.as_type)


class _InMemory:
    """Stands in for a store whose only table is ``rows``."""

    def __init__(self, rows: pa.Table) -> None:
        self.rows = rows

    def read_arrow(self, schema: str, name: str) -> pa.Table:
        return self.rows


def _bind(node: TaskNode, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> inspect.BoundArguments:
    args, kwargs = inputs
    try:
        return inspect.signature(node.task.fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise TaskError(f"Incremental task {node.label}: its arguments do not fit its function: {exc}.") from exc


def _to_arrow(node: TaskNode, result: Any) -> pa.Table:
    import pyarrow as pa

    from pipedag.store.hooks import hook_for_object

    obj = result.obj if isinstance(result, Table) else result
    if isinstance(obj, pa.Table):
        return obj
    hook = hook_for_object(obj)
    arrow = hook.to_arrow(obj) if hook is not None else None
    if arrow is None:
        raise TaskError(
            f"Incremental task {node.label} returned a {type(obj).__name__}; it must return a frame for its "
            "chunk's keys (pandas, polars or pyarrow)."
        )
    return cast("pa.Table", arrow)


def _retry_pending(store: SQLTableStore, node: TaskNode) -> str | None:
    """Why a cache-valid incremental task must run anyway: quarantined keys wait for a retry.

    One small query on the cache-hit path (a cache hit means the task ran before, so its
    registration table exists).
    """
    pending = st.quarantined_count(store, node.stage.name, node.name)
    return f"{pending} quarantined key(s) to retry" if pending else None


def _quarantine_report(job: IncrementalRun) -> str:
    s = job.summary
    parts = []
    if s.failed:
        keys = ", ".join(repr(k) for k, _ in s.failed[:5]) + (", ..." if len(s.failed) > 5 else "")
        parts.append(f"{len(s.failed)} key(s) failed and are quarantined ({keys}; first error: {s.failed[0][1]})")
    if s.exhausted:
        parts.append(f"{s.exhausted} key(s) exhausted their {job.spec.max_attempts} attempts")
    return "; ".join(parts) + "; every other key was published"


register_kind("incremental", IncrementalKind())
