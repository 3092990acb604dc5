"""Batch tasks in a flow: ``@materialize(..., batches=spec)`` and the task kind that runs them.

A batch task is called with a :class:`~pipedag.batches.Batch` as its first argument and returns
one table carrying the source's id column. Its output is one table that accumulates the rows of
every succeeded batch:

* deciding (driver, also ``pipedag plan``) looks at the next batch without claiming it; with
  nothing to do the task is cache-valid and not called, and its output stays as it is;
* executing (a worker) claims up to ``batches_per_run`` batches, calls the task once per batch
  and writes each result to a table of its own, where no reader looks;
* publishing the stage runs, in its one transaction, per batch: delete the output rows of the
  batch's ids (a retry or backfill replaces them), insert the batch's rows, mark the range
  ``succeeded``. A run that dies before the publish leaves neither rows nor success behind, and
  its claims belong to a dead run, which the next run (holding the instance lock) takes again
  at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from pipedag.batches import claims, tables
from pipedag.batches.batch import Batch
from pipedag.batches.options import current_options
from pipedag.batches.source import resolve
from pipedag.batches.spec import BatchSpec
from pipedag.cache.hashing import stable_hash
from pipedag.core.result import TaskState
from pipedag.core.table import TableRef
from pipedag.core.task import Task, TaskNode, register_batch_task
from pipedag.engine.kinds import TaskKind, register_kind
from pipedag.engine.task_runner import Decision, TaskRun
from pipedag.errors import ConfigError, TaskError, WiringError
from pipedag.log import get_logger
from pipedag.store.history import TaskRecord
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    from pipedag.engine.task_runner import TaskRunner
    from pipedag.store.base import SQLTableStore

KIND = "batches"


class BatchTask(Task):
    """A task fed batches of a catalog table; made by ``@materialize(..., batches=spec)``."""

    kind: ClassVar[str] = KIND

    def __init__(self, fn: Callable[..., Any], *, batches: BatchSpec, **options: Any) -> None:
        super().__init__(fn, **options)
        where = f"@materialize(batches=...) on {fn.__qualname__}"
        if not isinstance(batches, BatchSpec):
            raise WiringError(f"{where}: pass source.incremental(...) or source.backfill(...), got {batches!r}.")
        if self.lazy or self.nout != 1:
            raise WiringError(f"{where}: a batch task returns one table per batch; it cannot be lazy or have nout.")
        self.batches = batches


@dataclass
class BatchDecision(Decision):
    """A decision that carries the run's batch settings to the worker (a context variable would not)."""

    spec: BatchSpec | None = None
    per_run: int = 1
    stages: tuple[str, ...] = ()


class BatchKind(TaskKind):
    """Decides by peeking at the next batch; executes by claiming batches and staging their rows."""

    def dependencies(self, node: TaskNode) -> list[TaskNode]:
        """Its inputs, plus every task of the stage its source table lives in (when that stage is in the flow).

        The catalog must be published before the next batch is chosen from it.
        """
        spec, _ = _settings(node)
        stage = spec.source.schema_part.lower()
        flow = node.stage.flow
        writers = [n for s in (flow.stages if flow is not None else []) if s.name == stage for n in s.tasks]
        return [*node.upstream, *(n for n in writers if n is not node and n.stage is not node.stage)]

    def decide(self, runner: TaskRunner, node: TaskNode) -> Decision:
        """Cache-valid when the job has nothing to do, else run, naming the batch the run would take."""
        base = runner.decide(node)
        spec, per_run = _settings(node)
        flow = node.stage.flow
        stages = tuple(s.name for s in flow.stages) if flow is not None else (node.stage.name,)
        decision = BatchDecision(**{f: getattr(base, f) for f in base.__dataclass_fields__})
        decision.spec, decision.per_run, decision.stages = spec, per_run, stages
        decision.deterministic = True
        decision.hit = None
        store = runner.ctx.store
        tables.ensure_tables(store)
        src = resolve(store, spec.source, stages)
        upcoming = claims.peek(store, spec, src, claims.Claimant(None, runner.ctx.run_id))
        last = runner.history.last_record(node.name)
        if upcoming is None:
            decision.reason = f"nothing to do: {spec.describe()} {_idle(spec)}; the task is not called"
            if last is not None:
                decision.hit, decision.key = last, last.cache_key
            return decision
        decision.reason = f"next batch of {spec.describe()}: {_describe(upcoming)}"
        if per_run > 1:
            decision.reason += f" (up to {per_run} batches this run)"
        return decision

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        """Claim up to ``batches_per_run`` batches, run the task on each and stage its rows for the publish."""
        assert isinstance(decision, BatchDecision) and decision.spec is not None
        return _Execution(runner, decision).run()


register_kind(KIND, BatchKind())


def _settings(node: TaskNode) -> tuple[BatchSpec, int]:
    task = node.task
    assert isinstance(task, BatchTask)
    options = current_options()
    return options.specs.get(task.name, task.batches), options.per_run


def _idle(spec: BatchSpec) -> str:
    return "is done" if spec.kind == "backfill" else "has no new items"


def _describe(batch: Batch) -> str:
    retry = f", attempt {batch.attempt}" if batch.attempt > 1 else ""
    size = "1 item" if batch.count == 1 else f"{batch.count} items"
    oversize = ", oversize" if batch.oversize else ""
    return f"ids {batch.id_min}..{batch.id_max} ({size}, weight {batch.weight:g}{oversize}{retry})"


class _Execution:
    """One execution of a batch task on a worker."""

    def __init__(self, runner: TaskRunner, decision: BatchDecision) -> None:
        assert decision.spec is not None
        self.runner, self.decision, self.spec = runner, decision, decision.spec
        self.node = decision.node
        self.store: SQLTableStore = runner.ctx.store
        self.src = resolve(self.store, self.spec.source, decision.stages)
        self.who = claims.Claimant(f"run {runner.ctx.run_id}", runner.ctx.run_id)
        self.written: list[TableRef] = []
        self.statements: list[tuple[str, list[Any]]] = []
        self.done: list[Batch] = []
        self.output: TableRef | None = None
        self.staged_rows = 0

    def run(self) -> TaskRun:
        try:
            for _ in range(self.decision.per_run):
                batch = claims.claim(self.store, self.spec, self.src, self.who)
                if batch is None:
                    break
                self._process(batch)
        except BaseException:
            self.store.drop_tables(self.written)
            raise
        return self._result()

    def _process(self, batch: Batch) -> None:
        node, decision = self.node, self.decision
        key = stable_hash([decision.key, batch.job, batch.range_id, batch.attempt, batch.token])
        args, kwargs = decision.inputs
        try:
            staged = self.runner._execute(
                node, decision.start, key, decision.ingredients, ((batch, *args), kwargs), decision.reason, True
            )
        except BaseException as exc:
            with self.store.transaction():
                status = claims.fail(self.store, batch, exc if isinstance(exc, Exception) else repr(exc))
            exc.add_note(f"(batch {batch.describe()} recorded as {status})")
            raise
        refs = list(staged.record.tables())
        if len(refs) != 1 or staged.record.outputs is not refs[0]:
            self.written.extend(staged.written)
            raise TaskError(
                f"Task {node.label} processes batches and must return exactly one table per batch "
                f"(a frame, an Arrow table or Table(...)); it returned {len(refs)} tables."
            )
        self.written.extend(staged.written)
        self._stage(batch, refs[0])

    def _stage(self, batch: Batch, staged: TableRef) -> None:
        ident = self.spec.source.id
        if ident not in {c.name for c in staged.columns}:
            raise TaskError(
                f"Task {self.node.label} must return the id column {ident!r} of batch source "
                f"{self.spec.source.table} so that reprocessed ids can replace their rows; "
                f"its table has columns {', '.join(c.name for c in staged.columns)}."
            )
        output = self._output_table(staged)
        if [c.name for c in output.columns] != [c.name for c in staged.columns]:
            raise TaskError(
                f"Task {self.node.label} returned columns {[c.name for c in staged.columns]}, but its batch output "
                f"{output.label} has {[c.name for c in output.columns]}. Keep the columns, or write a new job "
                "and output (a new task name) for the new layout."
            )
        self.statements.extend(self._publish_statements(batch, staged, output))
        self.staged_rows += staged.rows or 0
        self.done.append(batch)

    def _output_table(self, staged: TableRef) -> TableRef:
        """The accumulating output table (created empty, like the first batch's table, on first use)."""
        if self.output is not None:
            return self.output
        store, history = self.store, self.runner.history
        physical = store.physical_name(staged.name, stable_hash(["batch output", self.node.label]))
        schema = store.data_schema(self.node.stage.name)
        output = TableRef(self.node.stage.name, staged.name, schema, physical, "", staged.columns)
        if physical not in store.list_tables(schema):
            store.create_table_as(schema, physical, f"SELECT * FROM {qualified(staged.schema, staged.physical_name)} "
                                  "WHERE 1 = 0", [])
            self.written.append(output)
            history.existing_tables.add(physical)
        else:
            output = TableRef(
                self.node.stage.name, staged.name, schema, physical, "", store.table_columns(schema, physical)
            )
        self.output = output
        return output

    def _publish_statements(self, batch: Batch, staged: TableRef, output: TableRef) -> list[tuple[str, list[Any]]]:
        store = self.store
        target = qualified(output.schema, output.physical_name)
        ident = quote(self.spec.source.id)
        items = qualified(store.metadata_schema, tables.items.name)
        ranges = qualified(store.metadata_schema, tables.ranges.name)
        columns = ", ".join(quote(c.name) for c in staged.columns)
        statements = [
            sa.text(
                f"DELETE FROM {target} WHERE {ident} IN "
                f"(SELECT id FROM {items} WHERE job = :job AND range_id = :range_id)"
            ).bindparams(job=batch.job, range_id=batch.range_id),
            sa.text(
                f"INSERT INTO {target} ({columns}) SELECT {columns} "
                f"FROM {qualified(staged.schema, staged.physical_name)}"
            ),
            sa.text(
                f"UPDATE {ranges} SET status = 'succeeded', finished_at = timezone('UTC', now()) "
                "WHERE job = :job AND range_id = :range_id AND token = :token AND status = 'claimed'"
            ).bindparams(job=batch.job, range_id=batch.range_id, token=batch.token),
        ]
        return [_rendered(store, s) for s in statements]

    def _result(self) -> TaskRun:
        node, decision, runner = self.node, self.decision, self.runner
        exhausted = _exhausted(self.store, self.spec.job)
        suffix = f"; exhausted ranges: {exhausted}" if exhausted else ""
        if exhausted:
            get_logger().warning("batch job has exhausted ranges", task=node.label, job=self.spec.job, ranges=exhausted)
        if not self.done:
            # Someone else took the batch between deciding and executing: nothing changes.
            last = runner.history.last_record(node.name)
            outputs = last.outputs if last is not None else None
            key = last.cache_key if last is not None else decision.key
            record = TaskRecord(node.name, key, decision.ingredients, outputs)
            reason = f"nothing to do: {self.spec.describe()} {_idle(self.spec)}{suffix}"
            return TaskRun(record, runner._outcome(node, TaskState.CACHE_VALID, reason, outputs, decision.start), [])
        assert self.output is not None
        key = stable_hash([decision.key, [(b.job, b.range_id, b.attempt, b.token) for b in self.done]])
        rows = self._kept_rows() + self.staged_rows
        output = TableRef(
            self.output.stage, self.output.name, self.output.schema, self.output.physical_name, key,
            self.output.columns, rows,
        )
        record = TaskRecord(node.name, key, decision.ingredients, output)
        taken = "; ".join(_describe(b) for b in self.done)
        reason = f"{self.spec.describe()}: {taken}{suffix}"
        outcome = runner._outcome(node, TaskState.RAN, reason, output, decision.start)
        return TaskRun(record, outcome, self.written, publish_sql=self.statements)

    def _kept_rows(self) -> int:
        """Rows of the output that this run's batches leave in place."""
        assert self.output is not None
        items = tables.items
        t = sa.table(
            sa.sql.quoted_name(self.output.physical_name, quote=True),
            sa.column(sa.sql.quoted_name(self.spec.source.id, quote=True)),
            schema=sa.sql.quoted_name(self.output.schema, quote=True),
        )
        ident = t.c[self.spec.source.id]
        replaced = sa.select(items.c.id).where(
            items.c.job == self.spec.job, items.c.range_id.in_([b.range_id for b in self.done])
        )
        ((count,),) = self.store.execute(sa.select(sa.func.count()).select_from(t).where(ident.not_in(replaced)))
        return int(count)


def _rendered(store: SQLTableStore, statement: sa.TextClause) -> tuple[str, list[Any]]:
    sql, params = store.render(statement)
    return sql, params


def _exhausted(store: SQLTableStore, job: str) -> str:
    ranges = [r for r in claims.status(store, job) if r.status == "exhausted"]
    return ", ".join(f"ids {r.id_min}..{r.id_max} ({r.error or 'failed'})"[:120] for r in ranges)


def batch_task(fn: Callable[..., Any], batches: Any, **options: Any) -> BatchTask:
    """Build the task ``@materialize(..., batches=spec)`` asks for (called lazily by ``materialize``)."""
    if not isinstance(batches, BatchSpec):
        raise ConfigError(
            f"@materialize(batches=...) on {fn.__qualname__}: pass source.incremental(...) or source.backfill(...), "
            f"got {type(batches).__name__}."
        )
    return BatchTask(fn, batches=batches, **options)


# Seam: @materialize (core) cannot import this package; it builds batch tasks through this.
register_batch_task(batch_task)
