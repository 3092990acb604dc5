"""pyarrow.Table in and out: the exchange format every other frame type goes through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.errors import ColumnError, StoreError
from pipedag.store.columns import check_writable
from pipedag.store.hooks.base import TableHook, module_of
from pipedag.store.identifiers import qualified

if TYPE_CHECKING:
    import pyarrow as pa

    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore

_PROBE_SUFFIX = "__pipedag_probe"


def write_frame(store: SQLTableStore, data: pa.Table, schema: str, name: str) -> int:
    """Bulk-write an Arrow table; on failure name the column the database cannot hold.

    Returns:
        The number of rows written.

    Raises:
        StoreError: naming the first column the database rejects, with its Arrow type.
    """
    data = check_writable(
        data, name.rsplit("__", 1)[0], case_insensitive=store.case_insensitive_columns, store=store.name
    )
    try:
        store.write_arrow(schema, name, data)
    except ColumnError:
        raise  # already names the column
    except StoreError as exc:
        culprit = _find_bad_column(store, data, schema, name)
        if culprit is None:
            raise
        column, error = culprit
        raise StoreError(
            f"Column {column!r} of Arrow type {data.schema.field(column).type} cannot be stored in "
            f"{store.name}: {error}. Cast the column to a supported type (e.g. float32 instead of "
            "float16, a string instead of an object or union) before returning it."
        ) from exc
    return int(data.num_rows)


def _find_bad_column(store: SQLTableStore, data: pa.Table, schema: str, name: str) -> tuple[str, str] | None:
    """Write each column alone (first empty, then in full) to find the one the database rejects.

    Only runs after a failed write, so its cost never touches the fast path.
    """
    probe = f"{name}{_PROBE_SUFFIX}"
    for rows in (0, data.num_rows):
        for column in data.column_names:
            try:
                store.write_arrow(schema, probe, data.select([column]).slice(0, rows))
            except StoreError as exc:
                return column, str(exc).split("\n", 1)[0]
            finally:
                store.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, probe)}")
    return None


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
        return write_frame(store, obj, schema, name)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Bulk read."""
        return store.read_arrow(ref.schema, ref.physical_name)

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Schema and buffer fingerprint."""
        return arrow_fingerprint(obj)
