"""polars DataFrame and LazyFrame in and out, via Arrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.store.hooks.arrow import write_frame
from pipedag.store.hooks.base import TableHook, module_of

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


def _frame(obj: Any) -> Any:
    import polars as pl

    return obj.collect() if isinstance(obj, pl.LazyFrame) else obj


class PolarsHook(TableHook):
    """Stores ``polars.DataFrame`` / ``LazyFrame`` (collected); hands tables out as either."""

    type_names: ClassVar[str] = "polars.DataFrame, polars.LazyFrame"

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """polars frames."""
        if module_of(obj) != "polars":
            return False
        import polars as pl

        return isinstance(obj, pl.DataFrame | pl.LazyFrame)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``polars.DataFrame`` or ``polars.LazyFrame``."""
        if module_of(as_type) != "polars":
            return False
        import polars as pl

        return as_type in (pl.DataFrame, pl.LazyFrame)

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Collect, convert to Arrow (zero-copy for most types), bulk write."""
        return write_frame(store, _frame(obj).to_arrow(), schema, name)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Bulk read as Arrow, wrap zero-copy in polars."""
        import polars as pl

        frame = pl.from_arrow(store.read_arrow(ref.schema, ref.physical_name))
        assert isinstance(frame, pl.DataFrame)
        return frame.lazy() if as_type is pl.LazyFrame else frame

    @classmethod
    def to_arrow(cls, obj: Any) -> Any:
        """Arrow form of the (collected) frame."""
        return _frame(obj).to_arrow()

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Fingerprint of the Arrow form."""
        return arrow_fingerprint(_frame(obj).to_arrow())
