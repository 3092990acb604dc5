"""What a task runner works with besides the task: the run's shared state, and the table-like
objects found in a task's result before they are stored.

Kept apart from :mod:`pipedag.engine.task_runner` so that :mod:`pipedag.engine.imperative`, which
the runner builds on, can use them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pipedag.core.blob import Blob
from pipedag.core.external import ExternalTableReference
from pipedag.core.raw_sql import RawSql
from pipedag.core.table import Table, TableRef
from pipedag.errors import PipedagError, TaskError
from pipedag.store.hooks.base import TableHook, schema_placeholders

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.task import TaskNode
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore
    from pipedag.store.history import StageHistory


@dataclass
class RunContext:
    """State shared by all tasks of one run."""

    store: SQLTableStore
    config: ConfigContext
    run_id: int
    blobs: FileBlobStore
    values: dict[TaskNode, Any] = field(default_factory=dict)


@dataclass
class PendingOutput:
    """A table-like object found in a task's result, before it is stored."""

    path: tuple[Any, ...]
    table: Table
    hook: type[TableHook] | None  # None for RawSql, Blob and ExternalTableReference
    #: A lazy task's table: the content identity of this output alone (see ``TaskRunner.decide``).
    own_key: str | None = None

    def identity(self, store: SQLTableStore) -> str | None:
        """What a lazy task's cache key hashes for this output."""
        obj = self.table.obj
        if isinstance(obj, RawSql):
            return schema_placeholders(store, obj.identity())
        if isinstance(obj, Blob | ExternalTableReference):
            return obj.identity()
        if isinstance(obj, TableRef):  # materialized imperatively inside the task
            return obj.key
        assert self.hook is not None
        return self.hook.identity(store, obj)


def write_table(
    store: SQLTableStore,
    history: StageHistory,
    hook: type[TableHook],
    obj: Any,
    table: Table,
    target: TableRef,
    task: str,
) -> TableRef:
    """Write ``obj`` (the data of ``table``) as the physical table ``target`` names; returns ``target`` completed.

    A table of that physical name that no record mentions is a crashed run's leftover: it is
    dropped first. Keys and indexes are left to the caller (it decides how their failure reads).

    Raises:
        TaskError: naming ``task`` and the table when the database refuses the data.
    """
    if target.physical_name in history.existing_tables:
        store.drop_tables([target])
    try:
        rows = hook.materialize(store, obj, target.schema, target.physical_name)
    except PipedagError as exc:
        raise TaskError(f"Task {task} could not store table {target.name!r}: {exc}") from exc
    history.existing_tables.add(target.physical_name)
    columns = store.table_columns(target.schema, target.physical_name)
    return replace(
        target,
        columns=columns,
        rows=rows,
        primary_key=tuple(table.primary_key_columns),
        indexes=tuple(tuple(i) for i in table.indexes or ()),
        not_null=tuple(table.not_null_columns([c.name for c in columns])),
    )
