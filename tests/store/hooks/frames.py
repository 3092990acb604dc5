"""Test helper: any supported frame type converted to Arrow for comparison."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def as_arrow(obj: Any) -> pa.Table:
    """The Arrow form of a pandas, polars, DuckDB-relation or Arrow result."""
    import duckdb
    import pandas as pd
    import polars as pl

    if isinstance(obj, pd.DataFrame):
        return pa.Table.from_pandas(obj, preserve_index=False)
    if isinstance(obj, pl.LazyFrame):
        return obj.collect().to_arrow()
    if isinstance(obj, pl.DataFrame):
        return obj.to_arrow()
    if isinstance(obj, duckdb.DuckDBPyRelation):
        return obj.to_arrow_table()
    assert isinstance(obj, pa.Table)
    return obj
