"""Feeding due keys to the task's function chunk by chunk, and narrowing failures down to keys.

Rows are read in windows of several chunks (one query per input and window, not per chunk) and
split into chunks in Arrow. Every chunk is a set of whole keys: all rows of a key arrive together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipedag.errors import TaskError
from pipedag.incremental.diff import CHUNK, PROCESSED, REASON
from pipedag.incremental.sources import Source
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows held in memory per read window (the window is a whole number of chunks).
WINDOW_ROWS = 500_000

ChunkFunction = Callable[["dict[str, pa.Table]"], "pa.Table"]


@dataclass
class Chunk:
    """The due keys of one chunk and every input's rows for them."""

    number: int
    keys: pa.Table
    inputs: dict[str, pa.Table]

    @property
    def rows(self) -> int:
        """Input rows in the chunk."""
        return sum(t.num_rows for t in self.inputs.values())

    def describe(self, key_columns: Sequence[str]) -> str:
        """``keys <first>..<last>, N rows`` for error messages."""
        ordered = self.keys.sort_by([(k, "ascending") for k in key_columns])
        first, last = _key_at(ordered, key_columns, 0), _key_at(ordered, key_columns, ordered.num_rows - 1)
        return f"keys {first}..{last} ({self.keys.num_rows} keys, {self.rows} input rows)"


@dataclass
class ChunkResults:
    """What the function returned, and the keys it failed on (quarantine mode)."""

    outputs: list[pa.Table] = field(default_factory=list)
    failed: list[tuple[Any, str]] = field(default_factory=list)
    rows_in: int = 0
    calls: int = 0


def read_windows(
    store: SQLTableStore, due: str, sources: Sequence[Source], keys: Sequence[str], chunks: int, chunk_size: int
) -> Iterator[Chunk]:
    """Yield the chunks ``0 .. chunks-1`` of the due table ``due`` (a qualified name)."""
    per_window = max(1, WINDOW_ROWS // chunk_size)
    for start in range(0, chunks, per_window):
        stop = min(start + per_window, chunks)
        processed = ", ".join(f"'{r}'" for r in PROCESSED)
        where = f"{CHUNK} >= {start} AND {CHUNK} < {stop} AND {REASON} IN ({processed})"
        key_list = ", ".join(quote(k) for k in keys)
        due_keys = store.query_arrow(f"SELECT {key_list}, {CHUNK} FROM {due} WHERE {where}")
        tables = {s.name: store.query_arrow(_input_query(s, due, keys, where)) for s in sources}
        split_keys = _split(due_keys, start, stop)
        split_inputs = {name: _split(t, start, stop) for name, t in tables.items()}
        for number in range(start, stop):
            yield Chunk(number, split_keys[number], {name: parts[number] for name, parts in split_inputs.items()})


def _input_query(source: Source, due: str, keys: Sequence[str], where: str) -> str:
    own = source.keys_in(keys)
    own_list = ", ".join(quote(k) for k in own)
    distinct = "DISTINCT " if len(own) < len(keys) else ""
    columns = ", ".join(f"i.{quote(c)}" for c in source.column_names)
    return (
        f"SELECT d.{CHUNK}, {columns} FROM {source.sql} AS i "
        f"JOIN (SELECT {distinct}{own_list}, {CHUNK} FROM {due} WHERE {where}) AS d USING ({own_list})"
    )


def _split(table: pa.Table, start: int, stop: int) -> dict[int, pa.Table]:
    """Rows per chunk number (without the chunk column), for every chunk in ``start .. stop-1``."""
    import numpy as np
    import pyarrow.compute as pc

    order = pc.sort_indices(table, sort_keys=[(CHUNK, "ascending")])
    ordered = table.take(order)
    numbers = ordered.column(CHUNK).to_numpy()
    bounds = np.searchsorted(numbers, np.arange(start, stop + 1), side="left")
    body = ordered.drop_columns([CHUNK])
    return {n: body.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])) for i, n in enumerate(range(start, stop))}


def call_chunk(
    fn: ChunkFunction, chunk: Chunk, sources: Sequence[Source], keys: Sequence[str], quarantine: bool, label: str,
    total: int,
) -> ChunkResults:
    """Run the function on a chunk; in quarantine mode bisect a failure down to single keys.

    Raises:
        TaskError: naming the task, the chunk's first and last key and its size, when the
            function fails and ``quarantine`` is off.
    """
    results = ChunkResults(rows_in=chunk.rows)
    try:
        results.outputs.append(_checked_call(fn, chunk, keys, label, results))
        return results
    except Exception as exc:
        if not quarantine:
            raise TaskError(
                f"Incremental task {label} failed on chunk {chunk.number + 1} of {total}, {chunk.describe(keys)}: "
                f"{type(exc).__name__}: {exc}. Nothing of its stage is published; fix the task and run again, "
                "or use Incremental(on_error='quarantine') to publish the other keys."
            ) from exc
        _bisect(fn, chunk, sources, keys, label, results, exc)
    return results


def _bisect(
    fn: ChunkFunction, chunk: Chunk, sources: Sequence[Source], keys: Sequence[str], label: str,
    results: ChunkResults, error: Exception,
) -> None:
    if chunk.keys.num_rows == 1:
        results.failed.append((_key_at(chunk.keys, keys, 0), f"{type(error).__name__}: {error}"))
        return
    half = chunk.keys.num_rows // 2
    for part in (chunk.keys.slice(0, half), chunk.keys.slice(half)):
        rows = {s.name: _rows_of(chunk.inputs[s.name], part, s.keys_in(keys)) for s in sources}
        sub = Chunk(chunk.number, part, rows)
        try:
            results.outputs.append(_checked_call(fn, sub, keys, label, results))
        except Exception as exc:
            _bisect(fn, sub, sources, keys, label, results, exc)


def _rows_of(rows: pa.Table, keys: pa.Table, columns: Sequence[str]) -> pa.Table:
    """The rows of ``rows`` whose ``columns`` occur in ``keys``."""
    wanted = keys.select(list(columns)).group_by(list(columns)).aggregate([])
    wanted = wanted.cast(rows.select(list(columns)).schema)
    return rows.join(wanted, list(columns), join_type="left semi")


def _checked_call(fn: ChunkFunction, chunk: Chunk, keys: Sequence[str], label: str, results: ChunkResults) -> pa.Table:
    results.calls += 1
    output = fn(chunk.inputs)
    missing = [k for k in keys if k not in output.column_names]
    if missing:
        raise TaskError(
            f"Incremental task {label} returned no column {missing[0]!r}; its output must carry the key columns "
            f"{list(keys)} so that rows can be replaced by key. Columns returned: {output.column_names}."
        )
    if output.num_rows:
        if any(len(t.column_names) and not set(keys) <= set(t.column_names) for t in chunk.inputs.values()):
            # Inputs carrying part of the key reach the function whole, so a product of them
            # covers pairs of other chunks too: keep the chunk's own keys.
            return _own_rows(output, chunk.keys, keys)
        stray = _stray_keys(output, chunk.keys, keys)
        if stray.num_rows:
            raise TaskError(
                f"Incremental task {label} returned rows for key {_key_at(stray, keys, 0)}, which it was not given; "
                "an incremental task returns rows only for the keys of its input chunk."
            )
    return output


def _own_rows(output: pa.Table, given: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Output rows whose key is among the ``given`` keys."""
    expected = given.select(list(keys)).cast(output.select(list(keys)).schema)
    return output.join(expected, list(keys), join_type="left semi")


def _stray_keys(output: pa.Table, given: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Output rows whose key is not among the ``given`` keys."""
    import pyarrow.compute as pc

    expected = given.select(list(keys))
    found = output.select(list(keys)).cast(expected.schema)
    if len(keys) == 1:  # a set lookup is ~10x cheaper than a join
        return found.filter(pc.invert(pc.is_in(found.column(0), value_set=expected.column(0))))
    return found.join(expected, list(keys), join_type="left anti")


def _key_at(table: pa.Table, keys: Sequence[str], row: int) -> Any:
    """The key of a row: its value for one key column, a tuple for several."""
    values = tuple(table.column(k)[row].as_py() for k in keys)
    return values[0] if len(values) == 1 else values


def quarantine_table(store: SQLTableStore, schema: str, name: str, keys: Sequence[str], key_schema: pa.Schema,
                     failed: list[tuple[Any, str]]) -> str:
    """Write the failed keys with their errors into ``schema.name``; return the qualified name."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {k: [] for k in keys}
    for key, _ in failed:
        values = key if isinstance(key, tuple) and len(keys) > 1 else (key,)
        for column, value in zip(keys, values, strict=True):
            columns[column].append(value)
    arrays = [pa.array(columns[k], type=key_schema.field(k).type) for k in keys]
    arrays.append(pa.array([error[:2000] for _, error in failed], type=pa.string()))
    store.write_arrow(schema, name, pa.Table.from_arrays(arrays, names=[*keys, "_pd_error"]))
    return qualified(schema, name)
