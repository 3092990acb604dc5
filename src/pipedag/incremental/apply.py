"""The statements that publish an incremental run: output delta, key state, registration.

They run inside the stage's publish transaction, so readers see the old output and state or
the new ones, and a failed or killed run changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from pipedag.cache.hashing import digest, stable_hash
from pipedag.incremental import diff as df
from pipedag.incremental import state as st
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    import pyarrow as pa

    from pipedag.incremental.run import IncrementalTask, Mode, OutputTable

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
        from pipedag.incremental.run import OutputTable

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
