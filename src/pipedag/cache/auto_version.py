"""``AUTO_VERSION``: the version of a polars task is the query plan it builds.

Before deciding, pipedag calls the task on *empty* LazyFrames with the schema of its real
inputs; the function only builds a plan, so this costs about a millisecond. The unoptimized
plan text (every expression and literal, nothing lower-cased) is hashed and stands in for
the version: the task reruns on real data only when the plan or its inputs changed.

The plan text leaves out the data of in-memory frames the plan embeds (``pl.LazyFrame({...})``
built inside the task, or a module-level frame), so the serialized plan, which carries that
data, is hashed too. Each empty input is marked with its table's label, so that swapping two
inputs between outputs changes the plan.

Python functions inside the plan (``map_elements``, ``map_batches``) are opaque to polars'
plan text, so for such plans the task's CODE_VERSION hash is added. polars serializes such
plans only when cloudpickle is installed and the function's closure can be pickled; when one
that cannot be serialized also embeds data that is not an input, nothing fingerprints that
data, and :func:`auto_version` returns None: the task runs every time.
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
_INPUT_MARKER = "pipedag input "
_FRAME_SCAN = "DF ["

#: Why an AUTO_VERSION task runs every time when :func:`auto_version` returns None.
UNFINGERPRINTABLE = (
    "AUTO_VERSION cannot fingerprint the in-memory data of a plan with a Python function: runs every time"
)


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
) -> str | None:
    """Call ``fn`` on empty LazyFrames shaped like its inputs and hash the plans it returns.

    Args:
        label: ``stage.task`` for error messages.
        fn: The task function.
        inputs: Its resolved ``(args, kwargs)``; TableRefs stand for input tables.
        schema_of: Reads the Arrow schema of an input table (without its rows).

    Returns:
        ``auto:<digest>``, or None when the plan embeds data that cannot be fingerprinted (the
        task must then run every time; see :data:`UNFINGERPRINTABLE`).

    Raises:
        CacheError: when the function fails on empty inputs or returns anything but LazyFrames.
    """
    import polars as pl

    def empty(value: Any) -> Any:
        if isinstance(value, TableRef):
            frame = pl.from_arrow(schema_of(value).empty_table())
            assert isinstance(frame, pl.DataFrame)
            # A no-op filter naming the input: plans differ when inputs trade places.
            return frame.lazy().filter(pl.lit(_INPUT_MARKER + value.label).is_not_null())
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
    frames = [(text, data) for _, options, text, *rest in plans if options != "value" for data in rest]
    if not frames:
        raise CacheError(
            f"Task {label}: version=AUTO_VERSION needs the task to return polars LazyFrames; it returned none."
        )
    if any(data is None and text.count(_FRAME_SCAN) > text.count(_INPUT_MARKER) for text, data in frames):
        return None  # an unserializable plan scans a frame that is not an input: its data is unknown
    text = stable_hash(plans)
    if any(marker in plan for plan, _ in frames for marker in _OPAQUE_MARKERS):
        text += code_version(fn)
    return "auto:" + digest(text)


def _plans(label: str, value: Any, path: tuple[Any, ...]) -> list[Any]:
    import polars as pl

    options: list[Any] = []
    if isinstance(value, Table):
        options = [value.name, value.primary_key_columns, value.indexes or []]
        value = value.obj
    if isinstance(value, pl.LazyFrame):
        return [[list(path), options, value.explain(optimized=False), _serialized_digest(value)]]
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


def _serialized_digest(frame: Any) -> str | None:
    """Digest of the serialized plan, which carries the data of embedded frames; None if polars cannot.

    With cloudpickle installed polars also serializes Python functions (by value, with their
    closures); without it, or for a closure holding something unpicklable, it cannot.
    """
    try:
        return digest(frame.serialize())
    except Exception:  # polars cannot pickle a Python function (no cloudpickle, or an unpicklable closure)
        return None
