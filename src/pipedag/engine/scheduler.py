"""The scheduler: a run's state on the driver, and the one path that decides and publishes.

It owns what a run knows (task values, table-name claims per stage, stage histories,
outcomes, progress). A task is decided (:meth:`Scheduler.decide`, the same call ``pipedag
plan`` uses) as soon as the tasks it depends on have finished, across stage boundaries;
cache-valid tasks complete on the driver, the others go to the engine. A stage is published
in one transaction when its last task is done and every stage it read from was published;
if one of its tasks failed or was skipped it is abandoned instead (its new tables dropped,
its last good version kept) and the tasks that consumed its outputs are skipped.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipedag.context import running_task
from pipedag.core.result import TaskOutcome, TaskState
from pipedag.engine.base import Work
from pipedag.engine.imperative import ImperativeTables
from pipedag.engine.kinds import TaskKind, kind_of
from pipedag.engine.task_runner import TaskRunner
from pipedag.errors import TaskError
from pipedag.log import get_logger

if TYPE_CHECKING:
    from pipedag.core.flow import Stage
    from pipedag.core.table import TableRef
    from pipedag.core.task import TaskNode
    from pipedag.engine.base import Engine
    from pipedag.engine.events import RunListener
    from pipedag.engine.task_runner import Decision, RunContext, TaskRun
    from pipedag.store.history import StageHistory


@dataclass
class _Running:
    node: TaskNode
    index: int
    hold: ExitStack


class Scheduler:
    """Decides, dispatches and publishes the tasks of the selected stages of one run.

    Args:
        ctx: The driver's run context (open store, config, run id, blobs, values).
        histories: Every stage's retained versions.
        stages: The stages to run, in flow order.
        listeners: Told when tasks start and finish.
        fail_fast: Stop dispatching at the first failure and re-raise it.
    """

    def __init__(
        self,
        ctx: RunContext,
        histories: dict[str, StageHistory],
        stages: Sequence[Stage],
        listeners: Sequence[RunListener] = (),
        fail_fast: bool = False,
    ) -> None:
        self.ctx = ctx
        self.histories = histories
        self.stages = list(stages)
        self.listeners = listeners
        self.fail_fast = fail_fast
        self.tasks = [node for stage in self.stages for node in stage.tasks]
        self.kinds: dict[TaskNode, TaskKind] = {node: kind_of(node.task) for node in self.tasks}
        self.owners: dict[str, dict[str, tuple[str, str]]] = {stage.name: {} for stage in self.stages}
        self.outcomes: dict[TaskNode, TaskOutcome] = {}
        self.runs: dict[TaskNode, TaskRun] = {}
        self.error: BaseException | None = None
        self._position = {node: i for i, node in enumerate(self.tasks)}
        self._deps = {node: self._dependencies(node) for node in self.tasks}
        self._consumers: dict[TaskNode, list[TaskNode]] = {node: [] for node in self.tasks}
        for node, deps in self._deps.items():
            for dep in deps:
                self._consumers[dep].append(node)
        self._missing = {node: len(deps) for node, deps in self._deps.items()}
        self._ready = [self._position[n] for n, count in self._missing.items() if count == 0]
        heapq.heapify(self._ready)
        self._running: dict[Future[TaskRun], _Running] = {}
        self._tainted: set[TaskNode] = set()
        self._finished_stages: dict[str, bool] = {}
        self._prepared: set[str] = set()
        self._drops: list[tuple[str, list[TableRef], list[str]]] = []
        self._index = 0
        self._predicting = False
        self._halted = False

    def _dependencies(self, node: TaskNode) -> list[TaskNode]:
        deps = self.kinds[node].dependencies(node)
        return [d for d in dict.fromkeys(deps) if d in self._position]

    # ------------------------------------------------------------------ deciding

    def runner(self, stage: Stage) -> TaskRunner:
        """A task runner on the driver's connection for ``stage``, sharing the stage's claims."""
        return TaskRunner(self.ctx, self.histories[stage.name], self.owners[stage.name])

    def decide(self, node: TaskNode) -> Decision:
        """The one decision path: ``node``'s cache key, whether it must run, and why."""
        runner = self.runner(node.stage)
        tables = ImperativeTables(runner, node, dry=self._predicting)
        with running_task(node, self.ctx.config, self.ctx.run_id, tables):  # lazy tasks are called here
            decision = self.kinds[node].decide(runner, node)
        decision.imperative = tables.state()
        return decision

    def predict(self) -> Iterator[tuple[TaskNode, Decision | None, TaskNode | None]]:
        """Walk the tasks as a run would, deciding without executing (``pipedag plan``).

        Yields:
            ``(node, decision, None)`` for a decided task, or ``(node, None, upstream)`` when
            an input comes from ``upstream``, which would run first.
        """
        self._predicting = True
        while self._ready:
            node = self.tasks[heapq.heappop(self._ready)]
            waiting = [u for u in node.upstream if u not in self.ctx.values]
            if waiting:
                yield node, None, waiting[0]
            else:
                decision = self.decide(node)
                if decision.hit is not None:
                    self.ctx.values[node] = decision.hit.outputs
                yield node, decision, None
            self._release(node)

    # ------------------------------------------------------------------ running

    def run(self, engine: Engine) -> None:
        """Run every task on ``engine``, publishing stages as they complete.

        Raises:
            BaseException: the first task exception when ``fail_fast`` is set.
        """
        try:
            while True:
                self._dispatch(engine)
                if not self._running:
                    break
                done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: self._running[f].index):
                    self._complete(future)
        except BaseException:
            self._halted = True  # e.g. a publish failed: publish nothing more, clean up below
            raise
        finally:
            self._wind_down()
        if self.fail_fast and self.error is not None:
            raise self.error

    def _wind_down(self) -> None:
        """Wait for tasks still executing (a failure stopped dispatch), abandon unpublished stages."""
        if self._running:
            wait(list(self._running))
            for future in sorted(self._running, key=lambda f: self._running[f].index):
                self._complete(future)
        for stage in self.stages:
            if stage.name not in self._finished_stages and any(n in self.outcomes for n in stage.tasks):
                self._abandon(stage)
        self._flush_drops()

    def _stopped(self) -> bool:
        return self._halted or (self.fail_fast and self.error is not None)

    def _dispatch(self, engine: Engine) -> None:
        while self._ready and len(self._running) < engine.capacity and not self._stopped():
            self._start(self.tasks[heapq.heappop(self._ready)], engine)

    def _start(self, node: TaskNode, engine: Engine) -> None:
        self._index += 1
        index = self._index
        for listener in self.listeners:
            listener.task_started(node, index, len(self.tasks))
        blocked = [u for u in node.upstream if u not in self.ctx.values]
        if blocked:
            reason = f"upstream task {blocked[0].label} did not succeed"
            self._finish(node, TaskOutcome(node.label, node.stage.name, TaskState.SKIPPED, reason), index)
            return
        if node.stage.name not in self._prepared:
            self.ctx.store.prepare_stage(node.stage.name)
            self._prepared.add(node.stage.name)
        hold = ExitStack()
        try:
            hold.enter_context(self.kinds[node].hold(self.ctx.config, node))
            decision = self.decide(node)
            task_run = self.runner(node.stage).carry_out(decision) if decision.hit is not None else None
            if task_run is not None:  # cache-valid: done on the driver
                hold.close()
                self._succeeded(node, task_run, index)
                return
            work = Work(
                self.ctx.config, self.ctx.run_id, decision, self.histories[node.stage.name],
                self.owners[node.stage.name], time.perf_counter() - decision.start,
            )
            future = engine.submit(work)
        except Exception as exc:  # the task's own error (or its decision's): reported, then kept
            hold.close()
            self._failed(node, exc, index)
            return
        self._running[future] = _Running(node, index, hold)

    def _complete(self, future: Future[TaskRun]) -> None:
        running = self._running.pop(future)
        running.hold.close()
        try:
            task_run = future.result()
        except Exception as exc:
            self._tainted.discard(running.node)
            self._failed(running.node, exc, running.index)
        else:
            self._succeeded(running.node, task_run, running.index)
        self._flush_drops()

    def _succeeded(self, node: TaskNode, task_run: TaskRun, index: int) -> None:
        stage = node.stage.name
        if node in self._tainted:  # an input was withdrawn while it ran: its result is void
            self._tainted.discard(node)
            self._drops.append((stage, task_run.written, [b.file for b in task_run.written_blobs]))
            self._finish(node, self._skipped(node), index)
            return
        try:
            self._claim_all(node, task_run)
        except TaskError as exc:
            self._drops.append((stage, task_run.written, [b.file for b in task_run.written_blobs]))
            self._failed(node, exc, index)
            return
        history = self.histories[stage]
        history.existing_tables.update(ref.physical_name for ref in task_run.written)
        history.existing_blobs.update(blob.file for blob in task_run.written_blobs)
        self.runs[node] = task_run
        self.ctx.values[node] = task_run.record.outputs
        self._finish(node, task_run.outcome, index)

    def _claim_all(self, node: TaskNode, task_run: TaskRun) -> None:
        """Claim the task's table names on the driver (a worker in another process claimed a copy)."""
        runner = self.runner(node.stage)
        for ref in task_run.record.tables():
            runner._claim(node, ref.name)
        for blob in task_run.record.blobs():
            runner._claim(node, f"blob {blob.name}")

    def _failed(self, node: TaskNode, exc: Exception, index: int) -> None:
        exc.add_note(f"(in pipedag task {node.label})")
        message = f"{type(exc).__name__}: {exc}"
        self._finish(node, TaskOutcome(node.label, node.stage.name, TaskState.FAILED, message, exception=exc), index)
        self.error = self.error or exc

    def _skipped(self, node: TaskNode) -> TaskOutcome:
        withdrawn = next(u for u in node.upstream if u not in self.ctx.values)
        reason = f"upstream task {withdrawn.label} did not succeed"
        return TaskOutcome(node.label, node.stage.name, TaskState.SKIPPED, reason)

    def _finish(self, node: TaskNode, outcome: TaskOutcome, index: int) -> None:
        self.outcomes[node] = outcome
        for listener in self.listeners:
            listener.task_finished(outcome, index, len(self.tasks))
        self._release(node)
        self._finalize_stages()

    def _release(self, node: TaskNode) -> None:
        """``node`` finished: its dependants may become ready."""
        for consumer in self._consumers[node]:
            self._missing[consumer] -= 1
            if self._missing[consumer] == 0:
                heapq.heappush(self._ready, self._position[consumer])

    # --------------------------------------------------------------- publishing

    def _finalize_stages(self) -> None:
        """Publish (or abandon) every stage whose tasks and upstream stages are all done."""
        if self._stopped():
            return
        for stage in self.stages:
            if stage.name in self._finished_stages or any(n not in self.outcomes for n in stage.tasks):
                continue
            if any(s not in self._finished_stages for s in self._upstream_stages(stage)):
                continue
            if all(n in self.runs for n in stage.tasks):
                self._publish(stage)
            else:
                self._abandon(stage)

    def _upstream_stages(self, stage: Stage) -> set[str]:
        return {d.stage.name for n in stage.tasks for d in self._deps[n] if d.stage is not stage}

    def _publish(self, stage: Stage) -> None:
        """The one publishing code path: records, views and the tasks' publish statements in one transaction."""
        runs = [self.runs[n] for n in stage.tasks]
        statements = [s for r in runs for s in r.publish_sql]
        store, history = self.ctx.store, self.histories[stage.name]
        with store.transaction() if statements else nullcontext():
            changed = store.publish_stage(stage.name, self.ctx.run_id, [r.record for r in runs], history)
            for sql, params in statements:
                store.execute_sql(sql, params)
        self._finished_stages[stage.name] = True
        if changed:
            dropped = store.collect_garbage(stage.name, history)
            self.ctx.blobs.collect_garbage(stage.name, history)
            get_logger().debug("stage published", stage=stage.name, dropped_tables=len(dropped))
        else:
            get_logger().debug("stage unchanged", stage=stage.name)

    def _abandon(self, stage: Stage) -> None:
        """Leave the published stage as it was: drop this run's tables, withdraw its outputs."""
        self._finished_stages[stage.name] = False
        runs = [self.runs.pop(n) for n in stage.tasks if n in self.runs]
        tables = [ref for run in runs for ref in run.written]
        self._drops.append((stage.name, tables, [b.file for run in runs for b in run.written_blobs]))
        for node in stage.tasks:
            self.ctx.values.pop(node, None)
        for node in stage.tasks:
            for consumer in self._consumers[node]:
                if consumer.stage is not stage:
                    self._withdraw(consumer)
        get_logger().warning("stage not published; its last good version stays in place", stage=stage.name)

    def _withdraw(self, node: TaskNode) -> None:
        """An input of ``node`` will not be published: void its result (now, or when it finishes)."""
        if any(r.node is node for r in self._running.values()):
            self._tainted.add(node)
        elif node in self.runs:
            run = self.runs.pop(node)
            self.ctx.values.pop(node, None)
            self._drops.append((node.stage.name, run.written, [b.file for b in run.written_blobs]))
            self.outcomes[node] = self._skipped(node)
            for consumer in self._consumers[node]:
                self._withdraw(consumer)

    def _flush_drops(self) -> None:
        """Drop abandoned tables once no running task may still read them."""
        if self._tainted:
            return
        drops, self._drops = self._drops, []
        for stage, refs, blobs in drops:
            if refs:
                self.ctx.store.drop_tables(refs)
            if blobs:
                self.ctx.blobs.delete(stage, blobs)
