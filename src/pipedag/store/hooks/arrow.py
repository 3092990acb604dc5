"""pyarrow.Table in and out: the exchange format every other frame type goes through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.store.hooks.base import TableHook, module_of

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


class ArrowHook(TableHook):
    """Stores ``pyarrow.Table`` objects through the store's bulk Arrow path."""

    type_names: ClassVar[str] = "pyarrow.Table"

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """pyarrow tables."""
        if module_of(obj) != "pyarrow":
            return False
        import pyarrow as pa

        return isinstance(obj, pa.Table)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``pyarrow.Table``."""
        if module_of(as_type) != "pyarrow":
            return False
        import pyarrow as pa

        return as_type is pa.Table

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Bulk write."""
        store.write_arrow(schema, name, obj)
        return int(obj.num_rows)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Bulk read."""
        return store.read_arrow(ref.schema, ref.physical_name)

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Schema and buffer fingerprint."""
        return arrow_fingerprint(obj)
