"""Key state of incremental tasks, kept in the instance's metadata schema.

``incremental_tasks`` has one row per task: its key-state tables, the version and input content
keys that state was built from, its output table, and the last run's counts. The key state is
two tables per generation:

* ``inc_<task digest>_<run>``: one row per key processed successfully: the key columns (typed
  as in the inputs), ``_pd_h`` (64-bit hash of the key's input rows then), and the ``_pd_run``,
  ``_pd_reason`` and ``_pd_chunk`` of the run that processed it;
* the same name + ``_f``: quarantined keys: ``_pd_failed_hash`` (the input that failed),
  ``_pd_attempts`` (runs that failed on it) and ``_pd_error``.

Run ids and content hashes decide; no clock is ever compared. Instances never share key state
because the metadata schema carries the instance's prefix and suffix.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from pipedag.cache.hashing import digest
from pipedag.errors import StoreError
from pipedag.store import metadata as md
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified, quote

state_metadata = sa.MetaData(schema=md.METADATA_SCHEMA)

incremental_tasks = sa.Table(
    "incremental_tasks",
    state_metadata,
    sa.Column("stage", sa.Text, primary_key=True),
    sa.Column("task", sa.Text, primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("state_table", sa.Text, nullable=False),
    sa.Column("keys", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("run_id", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("processed", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.BigInteger, nullable=False),
    sa.Column("rows_in", sa.BigInteger, nullable=False),
    sa.Column("rows_out", sa.BigInteger, nullable=False),
    sa.Column("quarantined", sa.BigInteger, nullable=False),
    sa.Column("exhausted", sa.BigInteger, nullable=False),
)

#: Columns of the failures table after the keys.
FAILED_HASH, ATTEMPTS, ERROR = "_pd_failed_hash", "_pd_attempts", "_pd_error"


@dataclass
class Registration:
    """A task's row of ``incremental_tasks``."""

    stage: str
    task: str
    generation: int
    state_table: str
    keys: tuple[str, ...]
    version: str
    inputs: dict[str, str]
    output: dict[str, Any]
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failures_table(self) -> str:
        """Name of the quarantined keys' table."""
        return failures_name(self.state_table)

    @property
    def retry_pending(self) -> bool:
        """Whether quarantined keys wait for another attempt."""
        return self.counts.get("quarantined", 0) > 0


COUNTS = ("total", "processed", "deleted", "rows_in", "rows_out", "quarantined", "exhausted")


def state_table_name(stage: str, task: str, run_id: int) -> str:
    """``inc_<digest of stage.task>_<run>`` (short, and safe for any task name)."""
    return f"inc_{digest(f'{stage}.{task}')[:16]}_{run_id}"


def failures_name(state_table: str) -> str:
    """The quarantined keys' table beside a key-state table."""
    return f"{state_table}_f"


def ensure_registry(store: SQLTableStore) -> None:
    """Create ``incremental_tasks`` in the metadata schema unless it exists."""
    store.execute(CreateTable(incremental_tasks, if_not_exists=True))


def load(store: SQLTableStore, stage: str, task: str) -> Registration | None:
    """The task's registration, or None before its first successful run (read-only)."""
    t = incremental_tasks
    if t.name not in store.list_tables(store.metadata_schema):
        return None  # no incremental task ever ran on this instance
    rows = store.execute(sa.select(t).where(t.c.stage == stage, t.c.task == task))
    return _registration(rows[0]) if rows else None


def quarantined_count(store: SQLTableStore, stage: str, task: str) -> int:
    """Keys of a task waiting for a retry (0 when it has no registration)."""
    table = qualified(store.metadata_schema, incremental_tasks.name)
    query = sa.text(f"SELECT quarantined FROM {table} WHERE stage = :stage AND task = :task")
    try:
        rows = store.execute_sql(*store.render(query.bindparams(stage=stage, task=task)))
    except StoreError:  # no incremental task ever ran on this instance (metadata cleared)
        return 0
    return int(rows[0][0]) if rows else 0


def load_all(store: SQLTableStore) -> list[Registration]:
    """Every registered incremental task of the instance (read-only: none before the first)."""
    if incremental_tasks.name not in store.list_tables(store.metadata_schema):
        return []
    t = incremental_tasks
    return [_registration(r) for r in store.execute(sa.select(t).order_by(t.c.stage, t.c.task))]


STATUS_HEADERS = ("task", "keys", "last run", "processed", "deleted", "rows in", "rows out", "quarantined", "exhausted")


QUARANTINE_HEADERS = ("task", "key", "attempts", "last error")


def quarantined_keys(store: SQLTableStore, limit: int = 20) -> list[tuple[Any, ...]]:
    """Up to ``limit`` quarantined keys per incremental task, with attempts and last error."""
    rows: list[tuple[Any, ...]] = []
    for r in load_all(store):
        if not r.counts["quarantined"] and not r.counts["exhausted"]:
            continue
        table = qualified(store.metadata_schema, r.failures_table)
        for found in store.execute_sql(f"SELECT * FROM {table} ORDER BY {ATTEMPTS} DESC LIMIT {int(limit)}"):
            key = found[0] if len(r.keys) == 1 else tuple(found[: len(r.keys)])
            attempts, error = found[len(r.keys) + 1], found[len(r.keys) + 2]
            rows.append((f"{r.stage}.{r.task}", key, attempts, str(error).splitlines()[0][:100]))
    return rows


def status_rows(store: SQLTableStore) -> list[tuple[Any, ...]]:
    """One ``pipedag status`` row per incremental task: key count and the last run's counts."""
    return [
        (
            f"{r.stage}.{r.task}", r.counts["total"], r.run_id, r.counts["processed"], r.counts["deleted"],
            r.counts["rows_in"], r.counts["rows_out"], r.counts["quarantined"], r.counts["exhausted"],
        )
        for r in load_all(store)
    ]


def _registration(row: Sequence[Any]) -> Registration:
    values = dict(zip(incremental_tasks.columns.keys(), row, strict=True))
    counts = {name: int(values[name]) for name in COUNTS}
    return Registration(
        values["stage"], values["task"], int(values["generation"]), values["state_table"],
        tuple(json.loads(values["keys"])),
        values["version"], json.loads(values["inputs"]), json.loads(values["output"]), int(values["run_id"]), counts,
    )


def save_statements(registration: Registration, schema: str) -> list[sa.ClauseElement]:
    """Statements replacing the task's registration in metadata schema ``schema`` (for the publish transaction)."""
    t = incremental_tasks.to_metadata(sa.MetaData(), schema=schema)
    values = {
        "stage": registration.stage,
        "task": registration.task,
        "generation": registration.generation,
        "state_table": registration.state_table,
        "keys": json.dumps(list(registration.keys)),
        "version": registration.version,
        "inputs": json.dumps(registration.inputs, sort_keys=True),
        "output": json.dumps(registration.output, sort_keys=True),
        "run_id": registration.run_id,
        **{name: registration.counts.get(name, 0) for name in COUNTS},
    }
    return [
        t.delete().where(t.c.stage == registration.stage, t.c.task == registration.task),
        t.insert().values(**values),
    ]


def create_failures_sql(store: SQLTableStore, table: str, keys: Sequence[str], select: str) -> str:
    """``CREATE TABLE <failures> AS <select>`` with its columns typed explicitly."""
    target = qualified(store.metadata_schema, table)
    casts = [quote(k) for k in keys] + [
        f"CAST({FAILED_HASH} AS {store.row_hash_type}) AS {FAILED_HASH}",
        f"CAST({ATTEMPTS} AS INTEGER) AS {ATTEMPTS}",
        f"CAST({ERROR} AS TEXT) AS {ERROR}",
    ]
    return f"CREATE TABLE {target} AS SELECT {', '.join(casts)} FROM ({select}) AS s"
