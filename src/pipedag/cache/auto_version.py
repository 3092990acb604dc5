"""``AUTO_VERSION``: the version of a polars task is the query plan it builds.

Before deciding, pipedag calls the task on *empty* LazyFrames with the schema of its real
inputs; the function only builds a plan, so this costs about a millisecond. The unoptimized
plan text (every expression and literal, nothing lower-cased) is hashed and stands in for
the version: the task reruns on real data only when the plan or its inputs changed.

Python functions inside the plan (``map_elements``, ``map_batches``) are opaque to polars'
plan text, so for such plans the task's CODE_VERSION hash is added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipedag.cache.code_version import code_version
from pipedag.cache.hashing import digest, stable_hash
from pipedag.core.table import Table, TableRef
from pipedag.errors import CacheError

if TYPE_CHECKING:
    import pyarrow as pa

_OPAQUE_MARKERS = ("python_udf", "map_batches", "map_elements", "opaque_python")


def check_auto_version(label: str, input_type: Any) -> None:
    """Reject AUTO_VERSION on tasks that are not polars LazyFrame tasks.

    Raises:
        CacheError: naming the task and the fix.
    """
    import polars as pl

    if input_type is not pl.LazyFrame:
        got = getattr(input_type, "__qualname__", repr(input_type))
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION needs input_type=polars.LazyFrame (got {got}); it hashes "
            "the polars plan the task builds. Use version=CODE_VERSION or a version string instead."
        )


def auto_version(
    label: str,
    fn: Callable[..., Any],
    inputs: tuple[tuple[Any, ...], dict[str, Any]],
    schema_of: Callable[[TableRef], pa.Schema],
) -> str:
    """Call ``fn`` on empty LazyFrames shaped like its inputs and hash the plans it returns.

    Args:
        label: ``stage.task`` for error messages.
        fn: The task function.
        inputs: Its resolved ``(args, kwargs)``; TableRefs stand for input tables.
        schema_of: Reads the Arrow schema of an input table (without its rows).

    Returns:
        ``auto:<digest>``.

    Raises:
        CacheError: when the function fails on empty inputs or returns anything but LazyFrames.
    """
    import polars as pl

    def empty(value: Any) -> Any:
        if isinstance(value, TableRef):
            frame = pl.from_arrow(schema_of(value).empty_table())
            assert isinstance(frame, pl.DataFrame)
            return frame.lazy()
        if isinstance(value, list | tuple):
            return type(value)(empty(v) for v in value)
        if isinstance(value, dict):
            return {k: empty(v) for k, v in value.items()}
        return value

    args, kwargs = empty(inputs)
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION calls the task on empty inputs to read its polars plan, "
            f"and it failed with {type(exc).__name__}: {exc}. Build the result lazily (no .collect()) or "
            "use version=CODE_VERSION."
        ) from exc
    plans = _plans(label, result, ())
    if not any(options != "value" for _, options, _ in plans):
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION needs the task to return polars LazyFrames; it returned none."
        )
    text = stable_hash(plans)
    if any(marker in str(plan) for _, _, plan in plans for marker in _OPAQUE_MARKERS):
        text += code_version(fn)
    return "auto:" + digest(text)


def _plans(label: str, value: Any, path: tuple[Any, ...]) -> list[Any]:
    import polars as pl

    options: list[Any] = []
    if isinstance(value, Table):
        options = [value.name, value.primary_key_columns, value.indexes or []]
        value = value.obj
    if isinstance(value, pl.LazyFrame):
        return [[list(path), options, value.explain(optimized=False)]]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _plans(label, v, (*path, i))]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _plans(label, v, (*path, k))]
    if isinstance(value, pl.DataFrame):
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION needs LazyFrame results but got a polars DataFrame at "
            f"{list(path)}; return frame.lazy() or drop the .collect()."
        )
    try:
        stable_hash(value)
    except CacheError:
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION cannot hash a {type(value).__name__} result at {list(path)}; "
            "return polars LazyFrames (optionally in Table(...)) or use version=CODE_VERSION."
        ) from None
    return [[list(path), "value", stable_hash(value)]]
