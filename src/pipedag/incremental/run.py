"""One run of one incremental task: plan the due keys, compute them, and publish the delta.

The lifecycle is explicit::

    task = IncrementalTask(store, spec, ...)
    task.plan()          # read-only: how many keys are due and why
    task.execute(fn)     # computes due keys into unpublished tables; nothing visible changes
    task.statements      # what publishing runs, rendered for the store
    task.publish()       # runs them; call inside the stage's publish transaction
    task.abandon()       # instead of publish when the stage is not published

Publishing also drops the run's helper tables and the superseded key-state generation, in the
same transaction; tables left by a killed run are swept at the task's next run.

Two modes. *Delta*: the output table is changed in place by key (delete + insert) and the key
state likewise, inside the publish transaction, so the cost follows the changed rows. *Full*
(first run, ``full_refresh``, changed keys, a version change with ``"rerun"``): a new output
table and a new key-state generation are built beside the old ones, and publishing only
switches to them. A rerun whose inputs and version are unchanged touches nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pipedag.cache.hashing import digest, stable_hash
from pipedag.core.incremental_spec import Incremental
from pipedag.core.table import Column
from pipedag.errors import StateError, TaskError
from pipedag.incremental import chunks as ch
from pipedag.incremental import diff as df
from pipedag.incremental import state as st
from pipedag.incremental.sources import Source, current_keys, key_types, resolve_keys
from pipedag.log import get_logger
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    import pyarrow as pa


class Mode(enum.Enum):
    """How a run changes the task's output."""

    NOOP = "no-op"
    DELTA = "delta"
    FULL = "full"


class Phase(enum.Enum):
    """Lifecycle of an :class:`IncrementalTask`."""

    NEW = "new"
    EXECUTED = "executed"
    DONE = "done"


@dataclass(frozen=True)
class DuePlan:
    """How many keys are due and why.

    Attributes:
        mode: no-op, delta or full.
        why: Why this mode (``"first run"``, ``"input 'events' changed"``, ...).
        counts: Due keys per reason (see :mod:`pipedag.incremental.diff`).
    """

    mode: Mode
    why: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def due(self) -> int:
        """Keys the function is called for."""
        return sum(n for reason, n in self.counts.items() if reason in df.PROCESSED)

    def describe(self) -> str:
        """``"12 keys due (10 new, 2 changed, 1 deleted): input 'events' changed"``."""
        parts = [f"{self.counts[r]} {r}" for r in df.REASONS if self.counts.get(r)]
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"{self.due} keys due{detail}: {self.why}"


@dataclass
class RunSummary:
    """What an executed run did (also stored in the task's registration)."""

    processed: int = 0
    deleted: int = 0
    rows_in: int = 0
    rows_out: int = 0
    failed: list[tuple[Any, str]] = field(default_factory=list)
    quarantined: int = 0
    exhausted: int = 0
    calls: int = 0


@dataclass(frozen=True)
class OutputTable:
    """The task's output table after the run (what the stage publishes)."""

    name: str
    schema: str
    physical_name: str
    key: str
    columns: tuple[Column, ...]
    rows: int


class IncrementalTask:
    """Plans, executes and publishes one run of one incremental task.

    Args:
        store: The open table store.
        spec: The task's ``Incremental`` settings.
        stage: Stage name.
        task: Task name.
        sources: Its input tables.
        version: Fingerprint of the task's code version (a change may make every key due).
        run_id: The current run.
        output_name: Name of the output table in the stage.
        full_refresh: Recompute every key from scratch.
        primary_key: Primary key to declare on the output table (default: an index on the keys
            where the backend wants one).

    Attributes:
        state_name: Name of this run's due-keys table, which becomes the next key-state
            generation after a full build.
        due_table: That table, qualified.
        new_failures_table: The quarantined keys this run wrote (qualified).
        delta_name: Table in the stage's data schema receiving a delta run's new rows.
        created / scratch / superseded: ``(schema, table)`` of the new generation, of helper
            tables, and of the generation the publish replaces.
    """

    def __init__(
        self,
        store: SQLTableStore,
        spec: Incremental,
        *,
        stage: str,
        task: str,
        sources: Sequence[Source],
        version: str,
        run_id: int,
        output_name: str,
        full_refresh: bool = False,
        primary_key: Sequence[str] = (),
    ) -> None:
        self.store, self.spec, self.stage, self.task = store, spec, stage, task
        self.label = f"{stage}.{task}"
        self.sources = list(sources)
        self.version, self.run_id, self.output_name = version, run_id, output_name
        self.full_refresh, self.primary_key = full_refresh, tuple(primary_key)
        self.keys = resolve_keys(self.label, spec.key_columns, self.sources)
        self.types = key_types(self.label, self.keys, self.sources)
        self.schema = store.data_schema(stage)
        self.previous = st.load(store, stage, task)
        self.phase = Phase.NEW
        self.summary = RunSummary()
        self._plan: DuePlan | None = None
        self._output: OutputTable | None = None
        self._fn: ch.ChunkFunction | None = None
        self._applier: Applier | None = None
        meta = store.metadata_schema
        self.state_name = st.state_table_name(stage, task, run_id)
        self.due_table = qualified(meta, self.state_name)
        self.new_failures_table = qualified(meta, st.failures_name(self.state_name))
        self._raw_failures = f"{self.state_name}_x"
        self.delta_name = f"_pd_delta_{digest(f'{self.label}/{run_id}')[:16]}"
        self.created: list[tuple[str, str]] = []  # new state/output tables, dropped if the run is abandoned
        self.scratch: list[tuple[str, str]] = []  # helper tables, dropped in any case
        self.superseded: list[tuple[str, str]] = []  # the previous generation, dropped on publishing

    # ------------------------------------------------------------------ plan

    @property
    def inputs(self) -> dict[str, str]:
        """Content key of every input, by parameter name."""
        return {s.name: s.content_key for s in self.sources}

    def _mode(self) -> tuple[Mode, str]:
        prev = self.previous
        if prev is None:
            return Mode.FULL, "first run"
        if self.full_refresh:
            return Mode.FULL, "full refresh"
        if prev.keys != self.keys:
            return Mode.FULL, f"keys {list(prev.keys)} -> {list(self.keys)}"
        if prev.output["physical_name"] not in self.store.list_tables(self.schema):
            return Mode.FULL, "its output table is missing"
        version_changed = prev.version != self.version
        if version_changed and self.spec.on_version_change == "rerun":
            return Mode.FULL, f"version changed ({prev.version} -> {self.version})"
        retry = prev.counts.get("quarantined", 0) > 0
        if prev.inputs == self.inputs and not retry:
            return Mode.NOOP, "inputs unchanged"
        why = "quarantined keys to retry" if prev.inputs == self.inputs else _changed_inputs(prev.inputs, self.inputs)
        if version_changed:
            get_logger().info(
                "version changed; on_version_change='keep' applies it to new changes only",
                task=self.label, before=prev.version, after=self.version,
            )
            why += "; new version applies to new changes only (on_version_change='keep')"
        return Mode.DELTA, why

    def _diff(self, mode: Mode) -> str:
        current = current_keys(self.store, self.sources, self.keys, self.spec.required_inputs)
        prev = self.previous
        if prev is None or self.full_refresh or prev.keys != self.keys:
            fresh = df.NEW if prev is None else df.REFRESH
            return df.diff_select(current, None, self.keys, version_changed=False, max_attempts=1, fresh_reason=fresh)
        meta = self.store.metadata_schema
        failures = None
        if prev.counts.get("quarantined") or prev.counts.get("exhausted"):
            failures = qualified(meta, prev.failures_table)
        return df.diff_select(
            current,
            (qualified(meta, prev.state_table), failures),
            self.keys,
            version_changed=mode is Mode.FULL and prev.version != self.version,
            max_attempts=self.spec.max_attempts,
        )

    def plan(self) -> DuePlan:
        """Count the due keys per reason without changing anything (one aggregate query, none for a no-op)."""
        if self._plan is None:
            mode, why = self._mode()
            counts: dict[str, int] = {}
            if mode is not Mode.NOOP:
                rows = self.store.execute_sql(df.counts_select(self._diff(mode)))
                counts = {str(reason): int(n) for reason, n in rows}
            self._plan = DuePlan(mode, why, counts)
        return self._plan

    # --------------------------------------------------------------- execute

    def execute(self, fn: ch.ChunkFunction) -> OutputTable:
        """Compute every due key into unpublished tables; the published stage is untouched.

        Args:
            fn: Called with ``{parameter: Arrow rows of the chunk's keys}``; returns the Arrow
                output rows for those keys.

        Returns:
            The output table as it will be after :meth:`publish`.

        Raises:
            TaskError: when the function fails (``on_error="fail"``), returns rows for keys it was
                not given, or a key column holds NULL.
        """
        self._require(Phase.NEW)
        self._fn = fn
        try:
            mode, why = self._mode()
            if mode is Mode.NOOP:
                self._plan = DuePlan(mode, why)
                self._output = self._previous_output()
            else:
                self._output = self._compute(mode, why)
        except BaseException:
            self.abandon()
            raise
        get_logger().debug("incremental task executed", task=self.label, plan=self.plan().describe())
        self.phase = Phase.EXECUTED
        return self._output

    def _compute(self, mode: Mode, why: str) -> OutputTable:
        store = self.store
        st.ensure_registry(store)
        self._sweep()
        store.execute_sql(
            f"CREATE TABLE {self.due_table} AS {df.due_select(self._diff(mode), self.spec.chunk_size, self.run_id)}"
        )
        (self.created if mode is Mode.FULL else self.scratch).append((store.metadata_schema, self.state_name))
        store.analyze(self.due_table)
        counts, chunks = self._due_counts()
        self._plan = DuePlan(mode, why, counts)
        if counts.get(df.NULL_KEY):
            raise TaskError(
                f"Incremental task {self.label}: {counts[df.NULL_KEY]} key(s) of its inputs have NULL in a key "
                f"column {list(self.keys)}; keys must identify rows. Filter or fill them upstream."
            )
        target = self._target(mode)
        schema = self._run_chunks(chunks, target, mode)
        failed = self._record_failures(mode)
        self._applier = Applier(self, mode, failed)
        if mode is Mode.FULL:
            return self._applier.full(target)
        return self._applier.delta(schema)

    def _sweep(self) -> None:
        """Drop key-state tables of this task that no registration uses (left by a killed run)."""
        prefix = self.state_name.rsplit("_", 1)[0] + "_"
        keep = set()
        if self.previous is not None:
            keep = {self.previous.state_table, self.previous.failures_table}
        meta = self.store.metadata_schema
        for name in sorted(self.store.list_tables(meta)):
            if name.startswith(prefix) and name not in keep:
                self.store.execute_sql(f"DROP TABLE IF EXISTS {qualified(meta, name)}")

    def _due_counts(self) -> tuple[dict[str, int], int]:
        rows = self.store.execute_sql(
            f"SELECT {df.REASON}, COUNT(*), MAX({df.CHUNK}) FROM {self.due_table} GROUP BY {df.REASON}"
        )
        counts = {str(r): int(n) for r, n, _ in rows}
        chunks = max((int(c) + 1 for r, _, c in rows if r in df.PROCESSED), default=0)
        self.summary.deleted = counts.get(df.DELETED, 0)
        self.summary.exhausted = counts.get(df.EXHAUSTED, 0)
        return counts, chunks

    def _target(self, mode: Mode) -> str:
        """Physical name of the output table the function's rows end up in."""
        if mode is Mode.DELTA:
            assert self.previous is not None
            return str(self.previous.output["physical_name"])
        return self.store.physical_name(self.output_name, stable_hash(["incremental", self.label, self.run_id]))

    def _run_chunks(self, chunks: int, target: str, mode: Mode) -> pa.Schema | None:
        """Call the function chunk by chunk; write its rows to the new output or the delta table.

        Returns:
            The schema of the rows written, or None when nothing was written.
        """
        destination = target if mode is Mode.FULL else self.delta_name
        schema: pa.Schema | None = None if mode is Mode.FULL else self.store.arrow_schema(self.schema, target)
        created, pending = False, []
        per_window = max(1, ch.WINDOW_ROWS // self.spec.chunk_size)
        quarantine = self.spec.on_error == "quarantine"
        for chunk in ch.read_windows(self.store, self.due_table, self.sources, self.keys, chunks, self.spec.chunk_size):
            if chunk.keys.num_rows:
                results = ch.call_chunk(self._call, chunk, self.sources, self.keys, quarantine, self.label, chunks)
                self._count(results)
                for output in results.outputs:
                    schema = schema or output.schema
                    pending.append(self._conform(output, schema))
            if (chunk.number + 1) % per_window == 0 or chunk.number == chunks - 1:
                created = self._flush(pending, destination, created, mode)
                pending = []
        if mode is Mode.FULL and not created:
            schema = schema or self._empty_schema()
            created = self._flush([schema.empty_table()], destination, created, mode)
        return schema if created else None

    def _count(self, results: ch.ChunkResults) -> None:
        self.summary.rows_in += results.rows_in
        self.summary.calls += results.calls
        self.summary.failed.extend(results.failed)

    def _flush(self, pending: list[pa.Table], name: str, created: bool, mode: Mode) -> bool:
        import pyarrow as pa

        if not pending or (mode is Mode.DELTA and not any(t.num_rows for t in pending)):
            return created
        data = pa.concat_tables(pending)
        self.summary.rows_out += data.num_rows
        if created:
            self.store.append_arrow(self.schema, name, data)
            return True
        self.store.execute_sql(f"DROP TABLE IF EXISTS {qualified(self.schema, name)}")  # a crashed run's
        self.store.write_arrow(self.schema, name, data)
        (self.created if mode is Mode.FULL else self.scratch).append((self.schema, name))
        return True

    def _conform(self, output: pa.Table, schema: pa.Schema) -> pa.Table:
        if sorted(output.column_names) != sorted(schema.names):
            raise TaskError(
                f"Incremental task {self.label} returned columns {sorted(output.column_names)}, but its output "
                f"table has {sorted(schema.names)}. Bump the task's version (with on_version_change='rerun') or "
                f"run with full_refresh=[{self.task!r}] to rebuild it with the new columns."
            )
        try:
            return output.select(schema.names).cast(schema)
        except Exception as exc:  # pyarrow's casting errors share no base class
            raise TaskError(
                f"Incremental task {self.label} returned column types that differ from earlier chunks or from "
                f"its output table ({exc}). Return the same column types for every chunk."
            ) from exc

    def _empty_schema(self) -> pa.Schema:
        """Call the function once with no rows to learn its output columns (no key was processed)."""
        empty = {s.name: self.store.query_arrow(f"SELECT * FROM {s.sql} WHERE 1 = 0") for s in self.sources}
        return self._call(empty).schema

    def _record_failures(self, mode: Mode) -> bool:
        """Write the keys that failed (quarantine mode) with their attempt counts to the failures table."""
        if not self.summary.failed:
            return False
        store, meta = self.store, self.store.metadata_schema
        key_list = ", ".join(quote(k) for k in self.keys)
        key_schema = store.query_arrow(f"SELECT {key_list} FROM {self.due_table} WHERE 1 = 0").schema
        raw = ch.quarantine_table(store, meta, self._raw_failures, self.keys, key_schema, self.summary.failed)
        self.scratch.append((meta, self._raw_failures))
        attempts, join = "1", ""
        if mode is Mode.DELTA and self.previous is not None:
            attempts = f"CASE WHEN p.{st.FAILED_HASH} = d.{df.HASH} THEN p.{st.ATTEMPTS} + 1 ELSE 1 END"
            join = f" LEFT JOIN {qualified(meta, self.previous.failures_table)} AS p USING ({key_list})"
        select = (
            f"SELECT {key_list}, d.{df.HASH} AS {st.FAILED_HASH}, {attempts} AS {st.ATTEMPTS}, "
            f"r.{st.ERROR} AS {st.ERROR} FROM {raw} AS r JOIN {self.due_table} AS d USING ({key_list}){join}"
        )
        store.execute_sql(st.create_failures_sql(store, st.failures_name(self.state_name), self.keys, select))
        (self.created if mode is Mode.FULL else self.scratch).append((meta, st.failures_name(self.state_name)))
        (quarantined, failed), = store.execute_sql(
            f"SELECT SUM(CASE WHEN {st.ATTEMPTS} < {int(self.spec.max_attempts)} THEN 1 ELSE 0 END), COUNT(*) "
            f"FROM {self.new_failures_table}"
        )
        self.summary.quarantined = int(quarantined or 0)
        self.summary.exhausted += int(failed) - self.summary.quarantined
        first_key, first_error = self.summary.failed[0]
        get_logger().warning(
            "incremental task quarantined keys", task=self.label, keys=len(self.summary.failed),
            first_key=first_key, error=first_error,
        )
        return True

    def _previous_output(self) -> OutputTable:
        assert self.previous is not None
        out = self.previous.output
        columns = tuple(Column(n, t) for n, t in out["columns"])
        return OutputTable(self.output_name, self.schema, out["physical_name"], out["key"], columns, int(out["rows"]))

    # -------------------------------------------------------------- publish

    @property
    def statements(self) -> list[tuple[str, list[Any]]]:
        """What :meth:`publish` runs inside the stage's publish transaction, rendered for the store.

        The output delta, the key state and the registration, then dropping the run's helper
        tables and the superseded generation. None for a no-op run.
        """
        if self._applier is None:
            return []
        drops: list[Statement] = [f"DROP TABLE IF EXISTS {qualified(*t)}" for t in self.scratch + self.superseded]
        return [self._render(s) for s in [*self._applier.statements, *drops]]

    def _render(self, statement: Statement) -> tuple[str, list[Any]]:
        import sqlalchemy as sa

        return self.store.render(sa.text(statement) if isinstance(statement, str) else statement)

    def publish(self) -> None:
        """Run :attr:`statements`; call inside the stage's publish transaction."""
        self._require(Phase.EXECUTED)
        for sql, params in self.statements:
            self.store.execute_sql(sql, params)
        self.created, self.scratch, self.superseded = [], [], []
        self.phase = Phase.DONE

    @property
    def written(self) -> list[tuple[str, str]]:
        """``(schema, table)`` of every table the run made: to drop if the stage is not published."""
        return self.created + self.scratch

    @property
    def output(self) -> OutputTable:
        """The output table after the run (after :meth:`execute`)."""
        if self._output is None:
            raise StateError(f"Incremental task {self.label} has not been executed yet.")
        return self._output

    def abandon(self) -> None:
        """The stage is not published: drop every table this run made; the published state stays.

        Raises:
            StateError: after :meth:`publish`, when the run's changes are already committed.
        """
        if self.phase is Phase.DONE:
            return
        self._drop(self.scratch + self.created)
        self.created, self.scratch, self.superseded, self._applier = [], [], [], None
        self.phase = Phase.DONE

    def _drop(self, tables: list[tuple[str, str]]) -> None:
        for schema, name in tables:
            self.store.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, name)}")

    # -------------------------------------------------------------- helpers

    def _call(self, inputs: dict[str, pa.Table]) -> pa.Table:
        if self._fn is None:
            raise StateError(f"Incremental task {self.label} has no function to call.")
        return self._fn(inputs)

    def _require(self, phase: Phase) -> None:
        if self.phase is not phase:
            raise StateError(f"Incremental task {self.label} is {self.phase.value}; this step needs it {phase.value}.")


def _changed_inputs(before: dict[str, str], after: dict[str, str]) -> str:
    changed = sorted(name for name in after if before.get(name) != after[name])
    return "input " + ", ".join(repr(n) for n in changed) + " changed" if changed else "inputs changed"


# ---------------------------------------------------------------- publishing
# The statements that publish an incremental run: output delta, key state, registration. They run
# inside the stage's publish transaction, so readers see the old output and state or the new ones,
# and a failed or killed run changes nothing.

#: A statement of the publish transaction: SQL text, or SQLAlchemy on the metadata schema.
Statement = str | sa.ClauseElement

_PROCESSED = ", ".join(f"'{r}'" for r in df.PROCESSED)


class Applier:
    """Builds the publish statements of one executed run.

    Args:
        task: The run.
        mode: Delta or full.
        failed: Whether keys failed and the failures table was written.
    """

    def __init__(self, task: IncrementalTask, mode: Mode, failed: bool) -> None:
        self.task, self.mode, self.failed = task, mode, failed
        self.store = task.store
        self.statements: list[Statement] = []

    # ---------------------------------------------------------------- full

    def full(self, target: str) -> OutputTable:
        """A new output table and key-state generation; publishing switches the registration to them."""
        task, store = self.task, self.store
        self._key_output(target)
        self._trim_state()
        if not self.failed:
            empty = f"SELECT {self._keys()}, NULL AS {st.FAILED_HASH}, 0 AS {st.ATTEMPTS}, NULL AS {st.ERROR} " \
                f"FROM {task.due_table} WHERE 1 = 0"
            store.execute_sql(st.create_failures_sql(store, st.failures_name(task.state_name), task.keys, empty))
            task.created.append((store.metadata_schema, st.failures_name(task.state_name)))
        if store.index_key_lookups:
            store.execute_sql(f"ALTER TABLE {task.due_table} ADD PRIMARY KEY ({self._keys()})")
        store.analyze(task.due_table)
        counts = task.plan().counts
        task.summary.processed = sum(counts.get(r, 0) for r in df.PROCESSED) - len(task.summary.failed)
        if task.previous is not None:
            meta = store.metadata_schema
            task.superseded += [(meta, task.previous.state_table), (meta, task.previous.failures_table)]
        generation = (task.previous.generation if task.previous else 0) + 1
        output = self._output(target, task.summary.rows_out, changed=True)
        registration = self._registration(generation, output, task.summary.processed)
        self.statements = [*st.save_statements(registration, store.metadata_schema)]
        return output

    def _trim_state(self) -> None:
        """Turn the due table into the new key state: drop deleted and failed keys."""
        task = self.task
        counts = task.plan().counts
        if self.failed or any(counts.get(r) for r in counts if r not in df.PROCESSED):
            condition = f"d.{df.REASON} NOT IN ({_PROCESSED})"
            if self.failed:
                condition += f" OR {self._exists(task.new_failures_table, 'f', 'd')}"
            self.store.execute_sql(f"DELETE FROM {task.due_table} AS d WHERE {condition}")

    def _key_output(self, physical: str) -> None:
        task, store = self.task, self.store
        target = qualified(task.schema, physical)
        if task.primary_key:
            columns = ", ".join(quote(c) for c in task.primary_key)
            store.execute_sql(f"ALTER TABLE {target} ADD PRIMARY KEY ({columns})")
        elif store.index_key_lookups:
            store.execute_sql(f"CREATE INDEX {quote('ix_' + digest(physical)[:24])} ON {target} ({self._keys()})")
        store.analyze(target)

    # --------------------------------------------------------------- delta

    def delta(self, schema: pa.Schema | None) -> OutputTable:
        """Statements changing the output and the key state by key."""
        task, store = self.task, self.store
        prev = task.previous
        assert prev is not None
        meta = store.metadata_schema
        output = qualified(task.schema, str(prev.output["physical_name"]))
        state, failures = qualified(meta, prev.state_table), qualified(meta, prev.failures_table)
        replaced = f"d.{df.REASON} <> '{df.EXHAUSTED}'"
        if self.failed:
            replaced += f" AND NOT {self._exists(task.new_failures_table, 'f', 'd')}"
        removed_rows = self._count(f"SELECT COUNT(*) FROM {output} AS o WHERE {self._due_exists('o', replaced)}")
        removed_keys = self._count(
            f"SELECT COUNT(*) FROM {task.due_table} AS d WHERE d.{df.REASON} = '{df.DELETED}' "
            f"AND {self._exists(state, 's', 'd')}"
        )
        statements: list[Statement] = [f"DELETE FROM {output} AS o WHERE {self._due_exists('o', replaced)}"]
        if schema is not None:
            columns = ", ".join(quote(n) for n in schema.names)
            delta = qualified(task.schema, task.delta_name)
            statements.append(f"INSERT INTO {output} ({columns}) SELECT {columns} FROM {delta}")
        statements.append(f"DELETE FROM {state} AS o WHERE {self._due_exists('o', replaced)}")
        state_columns = f"{self._keys()}, {df.HASH}, {df.REASON}, {df.CHUNK}, {df.RUN}"
        succeeded = f"d.{df.REASON} IN ({_PROCESSED})"
        if self.failed:
            succeeded += f" AND NOT {self._exists(task.new_failures_table, 'f', 'd')}"
        statements.append(
            f"INSERT INTO {state} ({state_columns}) SELECT {state_columns} FROM {task.due_table} AS d WHERE {succeeded}"
        )
        if self.failed or prev.counts.get("quarantined", 0) or prev.counts.get("exhausted", 0):
            retried = f"d.{df.REASON} <> '{df.EXHAUSTED}'"
            statements.append(f"DELETE FROM {failures} AS o WHERE {self._due_exists('o', retried)}")
        if self.failed:
            statements.append(f"INSERT INTO {failures} SELECT * FROM {task.new_failures_table}")
        counts = task.plan().counts
        processed = sum(counts.get(r, 0) for r in df.PROCESSED) - len(task.summary.failed)
        task.summary.processed = processed
        new_ok = counts.get(df.NEW, 0) - self._failed_new()
        total = prev.counts.get("total", 0) + new_ok - removed_keys
        rows = int(prev.output.get("rows", 0)) - removed_rows + task.summary.rows_out
        changed = processed > 0 or removed_rows > 0
        out = self._output(str(prev.output["physical_name"]), rows, changed)
        registration = self._registration(prev.generation, out, total)
        self.statements = [*statements, *st.save_statements(registration, meta)]
        return out

    def _failed_new(self) -> int:
        if not self.failed:
            return 0
        task = self.task
        return self._count(
            f"SELECT COUNT(*) FROM {task.due_table} AS d WHERE d.{df.REASON} = '{df.NEW}' "
            f"AND {self._exists(task.new_failures_table, 'f', 'd')}"
        )

    # ------------------------------------------------------------- helpers

    def _output(self, physical: str, rows: int, changed: bool) -> OutputTable:
        task, prev = self.task, self.task.previous
        if changed or prev is None:
            key = stable_hash(["incremental", task.label, physical, task.run_id])
        else:
            key = str(prev.output["key"])
        columns = self.store.table_columns(task.schema, physical)
        return OutputTable(task.output_name, task.schema, physical, key, columns, rows)

    def _registration(self, generation: int, output: OutputTable, total: int) -> st.Registration:
        task, s = self.task, self.task.summary
        counts = {
            "total": total, "processed": s.processed, "deleted": s.deleted, "rows_in": s.rows_in,
            "rows_out": s.rows_out, "quarantined": s.quarantined, "exhausted": s.exhausted,
        }
        out = {
            "physical_name": output.physical_name, "key": output.key, "rows": output.rows,
            "columns": [[c.name, c.type] for c in output.columns],
        }
        state_table = task.state_name
        if self.mode.value == "delta" and task.previous is not None:
            state_table = task.previous.state_table
        return st.Registration(
            task.stage, task.task, generation, state_table, task.keys, task.version, task.inputs, out, task.run_id,
            counts,
        )

    def _count(self, sql: str) -> int:
        return int(self.store.execute_sql(sql)[0][0])

    def _keys(self, alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + quote(k) for k in self.task.keys)

    def _exists(self, table: str, alias: str, other: str) -> str:
        match = " AND ".join(f"{alias}.{quote(k)} = {other}.{quote(k)}" for k in self.task.keys)
        return f"EXISTS (SELECT 1 FROM {table} AS {alias} WHERE {match})"

    def _due_exists(self, alias: str, condition: str) -> str:
        return self._exists(self.task.due_table, "d", alias).removesuffix(")") + f" AND {condition})"
