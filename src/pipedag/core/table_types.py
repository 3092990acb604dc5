"""Markers for ``input_type`` that select a variant of a library's type (kept import-free)."""

from __future__ import annotations


class PandasArrowDataFrame:
    """``input_type`` marker: hand tables to the task as pandas DataFrames with Arrow dtypes.

    The task receives an ordinary ``pandas.DataFrame`` whose columns use ``pd.ArrowDtype``
    (no copy into numpy; exact types such as ``decimal128``, ``time64`` and nullable integers
    kept). ``input_type=pandas.DataFrame`` gives numpy dtypes instead.
    """
