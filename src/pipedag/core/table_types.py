"""Markers for ``input_type`` that select a variant of a library's type (kept import-free)."""

from __future__ import annotations

from typing import Any


class PandasArrowDataFrame:
    """``input_type`` marker: hand tables to the task as pandas DataFrames with Arrow dtypes.

    The task receives an ordinary ``pandas.DataFrame`` whose columns use ``pd.ArrowDtype``
    (no copy into numpy; exact types such as ``decimal128``, ``time64`` and nullable integers
    kept). ``input_type=pandas.DataFrame`` gives numpy dtypes instead.
    """


def normalize_input_type(input_type: Any, where: str) -> Any:
    """Resolve pydiverse.pipedag's ``(pandas.DataFrame, "numpy" | "arrow")`` form of ``input_type``.

    Raises:
        WiringError: for another tuple, naming ``where``.
    """
    if not isinstance(input_type, tuple):
        return input_type
    kind = input_type[0] if input_type else None
    is_pandas = getattr(kind, "__module__", "").startswith("pandas") and getattr(kind, "__name__", "") == "DataFrame"
    if len(input_type) == 2 and is_pandas and input_type[1] in ("numpy", "arrow"):
        return kind if input_type[1] == "numpy" else PandasArrowDataFrame
    from pipedag.errors import WiringError

    raise WiringError(
        f"{where}: input_type={input_type!r} is not supported; the tuple form is (pandas.DataFrame, 'numpy') "
        "or (pandas.DataFrame, 'arrow'). Otherwise give one type, e.g. polars.DataFrame or sqlalchemy.Table."
    )
