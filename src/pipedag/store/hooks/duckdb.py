"""DuckDB relations in and out, through Arrow so that any table store can serve them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.store.hooks.arrow import write_frame
from pipedag.store.hooks.base import TableHook, module_of

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


class DuckDBRelationHook(TableHook):
    """Stores ``duckdb.DuckDBPyRelation`` results; hands tables out as relations.

    Outputs are executed and written through Arrow: a relation may belong to any DuckDB
    connection, so pipedag never assumes it can see the store's tables. Inputs are relations
    over the table read as Arrow on DuckDB's default connection, so they stay valid after the
    store is closed (``result.get(..., as_type=duckdb.DuckDBPyRelation)``).
    """

    type_names: ClassVar[str] = "duckdb.DuckDBPyRelation"

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """DuckDB relations."""
        if module_of(obj) != "duckdb":
            return False
        import duckdb

        return isinstance(obj, duckdb.DuckDBPyRelation)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``duckdb.DuckDBPyRelation``."""
        if module_of(as_type) != "duckdb":
            return False
        import duckdb

        return as_type is duckdb.DuckDBPyRelation

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Execute the relation to Arrow and bulk write."""
        return write_frame(store, obj.to_arrow_table(), schema, name)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """A relation over the table's Arrow data."""
        import duckdb

        return duckdb.from_arrow(store.read_arrow(ref.schema, ref.physical_name))

    @classmethod
    def to_arrow(cls, obj: Any) -> Any:
        """Execute the relation once; fingerprinting and writing share the result."""
        return obj.to_arrow_table()

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Fingerprint of the executed result."""
        return arrow_fingerprint(obj.to_arrow_table())
