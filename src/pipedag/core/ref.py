"""``ref()``: a quoted, schema-qualified table reference for hand-written SQL."""

from __future__ import annotations

from typing import Any

from pipedag.core.table import TableRef
from pipedag.store.identifiers import qualified


def ref(table: Any) -> str:
    """Render ``"schema"."table"`` for an input table, for use inside ``sa.text(...)``.

    Args:
        table: An input handed to a task as ``sqlalchemy.Table`` (alias or table), or a
            :class:`TableRef`.

    Returns:
        The quoted, schema-qualified physical name, e.g. ``"inputs__pipedag"."names__1a2b3c4d5e6f"``.

    Raises:
        TypeError: for anything that does not name a stored table.
    """
    if isinstance(table, TableRef):
        return qualified(table.schema, table.physical_name)
    import sqlalchemy as sa

    element = table.element if isinstance(table, sa.sql.Alias) else table
    if isinstance(element, sa.Table) and element.schema:
        return qualified(str(element.schema), str(element.name))
    raise TypeError(
        f"ref() needs a table handed to the task (input_type=sqlalchemy.Table) or a TableRef, "
        f"got {type(table).__name__}."
    )
