"""Table-type hooks: how each kind of Python object enters and leaves a table store.

Adding a type means adding one module with a :class:`~pipedag.store.hooks.base.TableHook`
subclass and listing it in :data:`HOOKS`.
"""

from __future__ import annotations

from typing import Any

from pipedag.store.hooks.arrow import ArrowHook
from pipedag.store.hooks.base import TableHook
from pipedag.store.hooks.duckdb import DuckDBRelationHook
from pipedag.store.hooks.pandas import PandasHook
from pipedag.store.hooks.polars import PolarsHook
from pipedag.store.hooks.sql import SqlHook

HOOKS: tuple[type[TableHook], ...] = (PandasHook, PolarsHook, ArrowHook, DuckDBRelationHook, SqlHook)


def hook_for_object(obj: Any) -> type[TableHook] | None:
    """The hook that can store ``obj`` as a table, or None when ``obj`` is not table-like."""
    return next((hook for hook in HOOKS if hook.can_materialize(obj)), None)


def hook_for_type(as_type: Any) -> type[TableHook] | None:
    """The hook that can hand out a stored table as ``as_type``."""
    return next((hook for hook in HOOKS if hook.can_retrieve(as_type)), None)


def supported_types() -> str:
    """Human-readable list of the types tables can be read as."""
    return ", ".join(hook.type_names for hook in HOOKS)
