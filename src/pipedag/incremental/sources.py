"""The input tables of an incremental task and the set of keys they define, as SQL.

Inputs that carry every key column are combined by key: a key exists when any of them has it
(a full outer join), or when every ``required`` input has it (an inner join). Inputs that carry
only some key columns are joined on the columns they share, a cross product when they share
none (images x models gives one key per pair); such inputs must always have their part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipedag.core.table import Column, TableRef
from pipedag.errors import TaskError
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified, quote

#: The row-hash column of per-input and combined hash relations.
HASH = "_pd_h"


@dataclass(frozen=True)
class Source:
    """One input table of an incremental task.

    Attributes:
        name: The task parameter it is passed as.
        schema: Schema of the physical table.
        table: Physical table name.
        columns: Its columns (names and database types).
        content_key: Identity of its content (equal keys mean equal rows).
        primary_key: Its declared primary key, if any (rows are then unique per key).
    """

    name: str
    schema: str
    table: str
    columns: tuple[Column, ...]
    content_key: str
    primary_key: tuple[str, ...] = ()

    @classmethod
    def from_ref(cls, name: str, ref: TableRef) -> Source:
        """The source for a stored table passed as parameter ``name``."""
        return cls(name, ref.schema, ref.physical_name, ref.columns, ref.key, ref.primary_key)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of its columns in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def sql(self) -> str:
        """The quoted, qualified table."""
        return qualified(self.schema, self.table)

    def keys_in(self, keys: Sequence[str]) -> tuple[str, ...]:
        """Which of ``keys`` this input carries, in key order."""
        present = set(self.column_names)
        return tuple(k for k in keys if k in present)


def resolve_keys(task: str, declared: Sequence[str] | None, sources: Sequence[Source]) -> tuple[str, ...]:
    """The key columns: the declared ones, or the primary key all inputs agree on.

    Raises:
        TaskError: when no keys are declared and the inputs have no common primary key, or when
            a key column is carried by no input, or an input carries none.
    """
    if declared is None:
        keys = {s.primary_key for s in sources if s.primary_key}
        if len(keys) != 1:
            found = ", ".join(f"{s.name}: {list(s.primary_key)}" for s in sources) or "no inputs"
            raise TaskError(
                f"Incremental task {task} declares no keys and its inputs do not share one primary key "
                f"({found}). Pass Incremental(keys=[...])."
            )
        declared = next(iter(keys))
    keys_tuple = tuple(declared)
    for key in keys_tuple:
        if not any(key in s.column_names for s in sources):
            raise TaskError(
                f"Incremental task {task}: key column {key!r} is in none of its inputs ({_names(sources)})."
            )
    for source in sources:
        if not source.keys_in(keys_tuple):
            raise TaskError(
                f"Incremental task {task}: input {source.name!r} has none of the key columns {list(keys_tuple)} "
                f"(its columns: {list(source.column_names)}). Add the key or pass it as a non-table argument."
            )
    return keys_tuple


def key_types(task: str, keys: Sequence[str], sources: Sequence[Source]) -> dict[str, str]:
    """Database type of each key column, from the first input carrying it.

    Raises:
        TaskError: when two inputs carry a key column with types of different kinds.
    """
    types: dict[str, str] = {}
    for source in sources:
        for column in source.columns:
            if column.name not in keys:
                continue
            seen = types.setdefault(column.name, column.type)
            if _kind(seen) != _kind(column.type):
                raise TaskError(
                    f"Incremental task {task}: key column {column.name!r} is {seen} in one input and "
                    f"{column.type} in input {source.name!r}; cast one so that the keys compare."
                )
    return types


def _kind(db_type: str) -> str:
    lowered = db_type.lower()
    for kind, words in (
        ("integer", ("int", "serial")),
        ("number", ("numeric", "decimal", "double", "float", "real")),
        ("text", ("char", "text", "string", "enum")),
        ("time", ("time", "date")),
    ):
        if any(word in lowered for word in words):
            return kind
    return lowered


def unique_per_key(source: Source, keys: Sequence[str]) -> bool:
    """Whether the input has at most one row per value of the key columns it carries."""
    return bool(source.primary_key) and set(source.primary_key) <= set(source.keys_in(keys))


def hashed_input(store: SQLTableStore, source: Source, keys: Sequence[str]) -> str:
    """``SELECT <its key columns>, <hash of its rows per key> AS _pd_h FROM <input>``."""
    own = source.keys_in(keys)
    cols = ", ".join(f"i.{quote(k)}" for k in own)
    row_hash = store.row_hash_sql(source.columns, "i")
    if unique_per_key(source, keys):
        return f"SELECT {cols}, {row_hash} AS {HASH} FROM {source.sql} AS i"
    return f"SELECT {cols}, {store.aggregate_hash_sql(row_hash)} AS {HASH} FROM {source.sql} AS i GROUP BY {cols}"


def current_keys(store: SQLTableStore, sources: Sequence[Source], keys: Sequence[str], required: Sequence[str]) -> str:
    """``SELECT <keys>, <combined hash> AS _pd_h FROM ...``: every key the inputs define now."""
    full = [s for s in sources if len(s.keys_in(keys)) == len(keys)]
    partial = [s for s in sources if s not in full]
    alias = {s.name: f"h{i}" for i, s in enumerate(sources)}
    must = [s for s in full if s.name in required]
    may = [s for s in full if s.name not in required]
    joins: list[str] = []
    ordered = [*must, *may, *partial]
    for position, source in enumerate(ordered):
        relation = f"({hashed_input(store, source, keys)}) AS {alias[source.name]}"
        if position == 0:
            joins.append(relation)
            continue
        shared = [k for k in source.keys_in(keys) if any(k in j.keys_in(keys) for j in ordered[:position])]
        if not shared:
            joins.append(f"CROSS JOIN {relation}")
            continue
        kind = "JOIN" if source in must or source in partial else ("LEFT JOIN" if must else "FULL JOIN")
        joins.append(f"{kind} {relation} USING ({', '.join(quote(k) for k in shared)})")
    hashes = [f"{alias[s.name]}.{HASH}" for s in sources]
    combined = hashes[0] if len(hashes) == 1 else store.combine_hashes_sql(hashes)
    key_list = ", ".join(quote(k) for k in keys)
    return f"SELECT {key_list}, {combined} AS {HASH} FROM {' '.join(joins)}"


def _names(sources: Sequence[Source]) -> str:
    return ", ".join(f"{s.name}: {list(s.column_names)}" for s in sources) or "no inputs"
