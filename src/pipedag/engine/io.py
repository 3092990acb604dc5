"""Turning task results into stored tables and stored tables back into task inputs."""

from __future__ import annotations

from typing import Any

from pipedag.core.nested import map_nested
from pipedag.core.table import TableRef
from pipedag.errors import TaskError
from pipedag.store.base import SQLTableStore
from pipedag.store.hooks import hook_for_type, supported_types


def read_tables(store: SQLTableStore, value: Any, as_type: Any) -> Any:
    """Copy ``value`` with every TableRef replaced by the table read as ``as_type``.

    Raises:
        TaskError: when no hook supports ``as_type``.
    """
    hook = hook_for_type(as_type)
    if hook is None:
        name = getattr(as_type, "__qualname__", repr(as_type))
        raise TaskError(f"Tables cannot be read as {name}; supported types: {supported_types()}.")

    return map_nested(value, TableRef, lambda ref: hook.retrieve(store, ref, as_type))
