"""Column rules shared by every table store: refuse what would not come back as it went in.

A frame is checked once before it is written (names, types, precision), and the few Arrow
types a database hands back in another shape are turned back on the way out. Each refusal is
a :class:`~pipedag.errors.ColumnError` naming the table, the column and the fix.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from pipedag.errors import ColumnError

if TYPE_CHECKING:
    import pyarrow as pa


def check_writable(data: pa.Table, table: str, *, case_insensitive: bool, store: str) -> pa.Table:
    """Validate a frame's columns before writing it and return it ready to write.

    Args:
        data: The frame in Arrow form.
        table: The table name, for messages.
        case_insensitive: Whether the database folds column names (``A`` and ``a`` would merge).
        store: The store's name, for messages.

    Returns:
        ``data``, with nanosecond durations cast to microseconds (every database keeps those).

    Raises:
        ColumnError: for no columns, empty/NUL/duplicate names, extension types, sub-microsecond durations.
    """
    names = data.column_names
    if not names:
        raise ColumnError(
            f"Table {table!r} has no columns; a database table needs at least one. Return a frame with "
            "a column (e.g. a row id) or do not return this table."
        )
    _check_names(names, table, case_insensitive, store)
    for field in data.schema:
        _check_type(field, table)
    return _microsecond_durations(data, table)


def _check_names(names: list[str], table: str, case_insensitive: bool, store: str) -> None:
    bad = [n for n in names if n == "" or "\x00" in n]
    if bad:
        raise ColumnError(
            f"Table {table!r} has a column named {bad[0]!r}; database columns need a non-empty name "
            "without NUL characters. Rename it (e.g. df.columns = [...])."
        )
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ColumnError(
            f"Table {table!r} has duplicate column names {', '.join(map(repr, dups))}; a table needs "
            "distinct names. Rename or drop the duplicates before returning the frame."
        )
    if case_insensitive:
        folded: dict[str, list[str]] = {}
        for name in names:
            folded.setdefault(name.lower(), []).append(name)
        clash = next((group for group in folded.values() if len(group) > 1), None)
        if clash:
            raise ColumnError(
                f"Table {table!r} has columns {' and '.join(map(repr, clash))}, which differ only in case; "
                f"{store} ignores case in column names and would rename one. Give them distinct names."
            )


def _check_type(field: pa.Field, table: str) -> None:
    import pyarrow as pa

    name = getattr(field.type, "extension_name", "") if isinstance(field.type, pa.BaseExtensionType) else ""
    if name.startswith("pandas."):  # period and interval: the database would keep only the storage
        raise ColumnError(
            f"Column {field.name!r} of table {table!r} has the pandas type {name}, which no table store "
            "keeps (it would come back as its plain storage type, e.g. int64). Convert it first, e.g. a pandas period "
            "with .dt.to_timestamp() or .astype(str)."
        )


def _microsecond_durations(data: pa.Table, table: str) -> pa.Table:
    import pyarrow as pa

    for i, field in enumerate(data.schema):
        if not pa.types.is_duration(field.type) or field.type.unit != "ns":
            continue
        try:
            column = data.column(i).cast(pa.duration("us"))  # a safe cast raises instead of truncating
        except pa.ArrowInvalid as exc:
            raise ColumnError(
                f"Column {field.name!r} of table {table!r} holds sub-microsecond durations; databases keep "
                "microseconds and would drop digits. Round it first (pandas: .dt.floor('us'))."
            ) from exc
        data = data.set_column(i, field.with_type(pa.duration("us")), column)
    return data


def restore_durations(data: pa.Table) -> pa.Table:
    """Turn interval columns without months back into durations (how timedeltas were written).

    Databases store a duration as an INTERVAL, which Arrow reads as ``month_day_nano_interval``
    (pandas would hand out ``DateOffset`` objects). An interval with months has no fixed length
    and stays an interval.
    """
    import pyarrow as pa

    for i, field in enumerate(data.schema):
        if not pa.types.is_interval(field.type):
            continue
        values = data.column(i).to_pylist()  # MonthDayNano tuples; interval columns are rare and small
        if any(v is not None and v.months for v in values):
            continue
        micros = [None if v is None else (v.days * 86_400_000_000_000 + v.nanoseconds) // 1000 for v in values]
        data = data.set_column(i, field.with_type(pa.duration("us")), pa.array(micros, pa.duration("us")))
    return data
