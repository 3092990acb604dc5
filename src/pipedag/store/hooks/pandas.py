"""pandas.DataFrame in and out, via Arrow (never row-by-row ``to_sql``).

Two dtype backends come back out: ``input_type=pandas.DataFrame`` gives numpy dtypes (integer
and boolean columns holding nulls become pandas' nullable ``Int64``/``boolean`` instead of
silently turning into floats), ``input_type=PandasArrowDataFrame`` gives ``pd.ArrowDtype``
columns. Both backends go in the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.core.table_types import PandasArrowDataFrame
from pipedag.errors import ColumnError, StoreError
from pipedag.store.hooks.arrow import write_frame
from pipedag.store.hooks.base import TableHook, module_of

if TYPE_CHECKING:
    import pyarrow as pa

    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


def to_arrow(df: Any) -> pa.Table:
    """Convert a DataFrame to Arrow; the index is not stored (``reset_index()`` keeps it).

    Raises:
        StoreError: naming the column pandas cannot convert (e.g. mixed Python objects).
    """
    import pyarrow as pa

    dups = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dups:
        raise ColumnError(
            f"The DataFrame has duplicate column names {', '.join(map(repr, dups))}; a table needs distinct "
            "names. Rename or drop the duplicates before returning it."
        )
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        column = _bad_column(df)
        where = f"Column {column!r} (dtype {df[column].dtype})" if column is not None else "The DataFrame"
        raise StoreError(
            f"{where} cannot be converted to a table column: {exc}. Give the column one type "
            "(e.g. df[col].astype(str)) or drop it."
        ) from exc
    _check_dicts(df, table)
    return table


def _check_dicts(df: Any, table: pa.Table) -> None:
    """Refuse a column of dicts with differing keys: Arrow makes it a struct padded with None."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if not pa.types.is_struct(field.type) or df.iloc[:, i].dtype != object:
            continue
        keys = {f.name for f in field.type}
        if any(isinstance(v, dict) and set(v) != keys for v in df.iloc[:, i]):
            raise ColumnError(
                f"Column {field.name!r} holds dicts with differing keys; it would come back with every key "
                "in every row (missing ones as None). Encode it as JSON text (df[col].map(json.dumps)) "
                "or split it into columns."
            )


def _bad_column(df: Any) -> Any:
    import pyarrow as pa

    for column in df.columns:
        try:
            pa.array(df[column], from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return column
    return None


def to_pandas(table: pa.Table, arrow_dtypes: bool) -> Any:
    """Arrow to pandas, keeping integer/boolean columns with nulls exact."""
    import pandas as pd
    import pyarrow as pa

    if arrow_dtypes:
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    nullable = [
        i
        for i, field in enumerate(table.schema)
        if (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)) and table.column(i).null_count
    ]
    if not nullable:
        return table.to_pandas()
    frame = table.drop_columns([table.column_names[i] for i in nullable]).to_pandas()
    for i in nullable:
        column = table.column(i)
        dtype = pd.BooleanDtype() if pa.types.is_boolean(column.type) else pd.api.types.pandas_dtype(
            str(column.type).replace("int", "Int").replace("uInt", "UInt")
        )
        exact = table.select([i]).to_pandas(types_mapper={column.type: dtype}.get)
        frame.insert(i, table.column_names[i], exact.iloc[:, 0])
    return frame


class PandasHook(TableHook):
    """Stores ``pandas.DataFrame`` objects; hands tables out as pandas (numpy or Arrow dtypes)."""

    type_names: ClassVar[str] = "pandas.DataFrame, pipedag.PandasArrowDataFrame"

    @classmethod
    def can_materialize(cls, obj: Any) -> bool:
        """pandas DataFrames."""
        if module_of(obj) != "pandas":
            return False
        import pandas as pd

        return isinstance(obj, pd.DataFrame)

    @classmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """``pandas.DataFrame`` or :class:`PandasArrowDataFrame`."""
        if as_type is PandasArrowDataFrame:
            return True
        if module_of(as_type) != "pandas":
            return False
        import pandas as pd

        return as_type is pd.DataFrame

    @classmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Convert to Arrow and bulk write."""
        return write_frame(store, to_arrow(obj), schema, name)

    @classmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Bulk read as Arrow, then convert (5x faster than DuckDB's own ``.df()``).

        The frame's ``attrs["name"]`` is the table's name, as pydiverse.pipedag programs expect.
        """
        frame = to_pandas(store.read_arrow(ref.schema, ref.physical_name), as_type is PandasArrowDataFrame)
        frame.attrs["name"] = ref.name
        return frame

    @classmethod
    def to_arrow(cls, obj: Any) -> Any:
        """Arrow form of the frame."""
        return to_arrow(obj)

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """Fingerprint of the Arrow form."""
        return arrow_fingerprint(to_arrow(obj))
