"""Debugging helpers for code running inside a task (pydiverse.pipedag's ``materialize.debug``).

:func:`materialize_table` writes a table for a look at a breakpoint. It is not an output of
the task and does not touch caching: it lives in the stage's data schema until the stage is
next published, when pipedag's garbage collection drops it (pipedag drops only what it wrote).
"""

from __future__ import annotations

from typing import Any

from pipedag.core.table import Table
from pipedag.errors import StateError, TaskError
from pipedag.store.hooks import hook_for_object
from pipedag.store.identifiers import qualified


def materialize_table(
    table: Table,
    config_context: Any = None,
    schema: Any = None,
    debug_suffix: str | None = None,
    flag_task_debug_tainted: bool = True,
    keep_table_name: bool = True,
    drop_if_exists: bool = True,
) -> str:
    """Write ``table`` now, for inspection, and return its qualified name (``"schema"."name"``).

    Args:
        table: The table (any object a task may return as a table).
        config_context: Not supported; must be None (the running task's instance is used).
        schema: Not supported; must be None (the running task's stage is used).
        debug_suffix: Appended to the table name (default ``_debug``).
        flag_task_debug_tainted: Accepted; pipedag keeps the task's result valid, since the
            debug table is no output.
        keep_table_name: Accepted; the name is always ``table.name + debug_suffix``.
        drop_if_exists: Replace an earlier debug table of the same name (always done).

    Raises:
        StateError: outside a running task, or with ``config_context``/``schema`` given.
        TaskError: when the object cannot be stored as a table.
    """
    del flag_task_debug_tainted, keep_table_name, drop_if_exists
    from pipedag.context import TaskContext
    from pipedag.engine.imperative import ImperativeTables

    context = TaskContext.current()
    if context is None or config_context is not None or schema is not None:
        raise StateError("materialize_table() works inside a running task only, without config_context/schema.")
    state = context.state
    assert isinstance(state, ImperativeTables)
    node, store = context.task, state.runner.ctx.store
    hook = hook_for_object(table.obj)
    if hook is None:
        raise TaskError(f"Task {node.label}: materialize_table() cannot store a {type(table.obj).__name__}.")
    name = f"{table.name or node.name}{debug_suffix or '_debug'}"
    target = store.data_schema(node.stage.name)
    with store.transaction():
        store.execute_sql(f"DROP TABLE IF EXISTS {qualified(target, name)}")
    hook.materialize(store, table.obj, target, name)
    return qualified(target, name)
