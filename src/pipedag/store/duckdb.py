"""DuckDB table store: the embedded default, one database file per instance.

DuckDB cannot rename schemas or move tables between them, but its DDL is transactional, so
the view-swap publish of :mod:`pipedag.store.base` is atomic for readers on other connections.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pipedag.core.table import Column
from pipedag.errors import ConfigError, StateError, StoreError
from pipedag.store.base import SQLTableStore, error_chain
from pipedag.store.columns import restore_durations
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from pipedag.config.context import ConfigContext

_SIMPLE_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "BOOLEAN": sa.Boolean(),
    "TINYINT": sa.SmallInteger(),
    "SMALLINT": sa.SmallInteger(),
    "INTEGER": sa.Integer(),
    "BIGINT": sa.BigInteger(),
    "HUGEINT": sa.Numeric(38, 0),
    "UTINYINT": sa.SmallInteger(),
    "USMALLINT": sa.Integer(),
    "UINTEGER": sa.BigInteger(),
    "UBIGINT": sa.Numeric(20, 0),
    "FLOAT": sa.Float(),
    "DOUBLE": sa.Double(),
    "VARCHAR": sa.String(),
    "DATE": sa.Date(),
    "TIME": sa.Time(),
    "TIMESTAMP": sa.DateTime(),
    "TIMESTAMP_NS": sa.DateTime(),
    "TIMESTAMP_MS": sa.DateTime(),
    "TIMESTAMP_S": sa.DateTime(),
    "TIMESTAMP WITH TIME ZONE": sa.DateTime(timezone=True),
    "INTERVAL": sa.Interval(),
    "BLOB": sa.LargeBinary(),
    "UUID": sa.Uuid(),
    "JSON": sa.JSON(),
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def _select_list(data: pa.Table) -> str:
    """``*``, or columns with categoricals cast to ENUM: DuckDB would store them as VARCHAR."""
    import pyarrow as pa

    enums = {
        i: field.type.value_type
        for i, field in enumerate(data.schema)
        if pa.types.is_dictionary(field.type)
        and (pa.types.is_string(field.type.value_type) or pa.types.is_large_string(field.type.value_type))
    }
    if not enums:
        return "*"
    items = []
    for i, name in enumerate(data.column_names):
        if i in enums:
            categories = _categories(data.column(i))
            if categories:
                literals = ", ".join("'" + c.replace("'", "''") + "'" for c in categories)
                items.append(f"CAST({quote(name)} AS ENUM({literals})) AS {quote(name)}")
                continue
        items.append(quote(name))
    return ", ".join(items)


def _categories(column: pa.ChunkedArray) -> list[str]:
    """Distinct categories in first-seen dictionary order (chunks may carry different dictionaries)."""
    seen: dict[str, None] = {}
    for chunk in column.chunks:
        for value in chunk.dictionary.to_pylist():
            if value is not None:
                seen.setdefault(value, None)
    return list(seen)


_WIDENS_TO_BIGINT = ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER")


def _canonical(column: str, db_type: str) -> str:
    """The column as hashed, so that widening a column never changes the hash.

    ``hash()`` of a negative INTEGER differs from the same BIGINT, and 128-bit integers hash
    their halves XORed (0 and -1 collide), so small integers widen to BIGINT and wide integers
    and 128-bit decimals are hashed as text.
    """
    if db_type in _WIDENS_TO_BIGINT:
        return f"CAST({column} AS BIGINT)"
    if db_type in ("UBIGINT", "HUGEINT", "UHUGEINT") or db_type.startswith("ENUM"):
        return f"CAST({column} AS VARCHAR)"
    if db_type in ("FLOAT", "REAL"):
        return f"CAST({column} AS DOUBLE)"
    match = _DECIMAL.match(db_type)
    if match:
        return f"CAST({column} AS DECIMAL(18, {match.group(2)}))" if int(match.group(1)) <= 18 else (
            f"CAST({column} AS VARCHAR)"
        )
    return column


def database_path(url: str) -> Path:
    """The file behind ``duckdb:///relative.duckdb`` or ``duckdb:////absolute.duckdb``.

    Raises:
        ConfigError: for in-memory or malformed URLs.
    """
    if not url.startswith("duckdb:///"):
        raise ConfigError(f"DuckDB URL {url!r} must look like duckdb:///path/to/file.duckdb.")
    path = url.removeprefix("duckdb:///").split("?", 1)[0]
    if path in ("", ":memory:"):
        raise ConfigError(
            f"DuckDB URL {url!r} names no file; pipedag keeps stages between runs, so give a file path "
            "such as duckdb:///.pipedag/pipeline.duckdb."
        )
    return Path(path)


def _connect_waiting(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect; a writer waits up to 5 s for readers (``pipedag ui`` holds the file per request)."""
    import duckdb

    deadline = time.monotonic() + (0.0 if read_only else 5.0)
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class DuckDBTableStore(SQLTableStore):
    """Table store on an embedded DuckDB file (no server, no config file needed)."""

    name: ClassVar[str] = "duckdb"
    max_identifier_length: ClassVar[int] = 255
    # Only one process may open the file read-write; threads of that process may all write.
    concurrent_writers: ClassVar[bool] = False
    case_insensitive_columns: ClassVar[bool] = True
    # DuckDB speaks the PostgreSQL dialect closely enough for SQLAlchemy Core; `$1` parameters.
    dialect: ClassVar[sa.Dialect] = postgresql.psycopg.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]

    def __init__(self, config: ConfigContext) -> None:
        super().__init__(config)
        self.path = database_path(config.table_store_url)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._in_transaction = False

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open DuckDB connection (for explorative SQL inside the process)."""
        if self._con is None:
            raise StateError("DuckDB store is not open; use `with store:` first.")
        return self._con

    def database_exists(self) -> bool:
        """Whether the database file exists (opening would create it)."""
        return self.path.exists()

    def _connect(self) -> None:
        import duckdb

        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = _connect_waiting(self.path, self.read_only)
            # Time-zone-aware columns come back in the session zone: fix it so that results
            # do not depend on the machine's local zone.
            self._con.execute("SET TimeZone = 'UTC'")
        except duckdb.IOException as exc:
            raise StoreError(
                f"Cannot open DuckDB file {self.path}: {exc}. Another process (a running flow or a "
                "duckdb shell) holds it; close that process and try again."
            ) from exc

    def _disconnect(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def execute_sql(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and fetch all its rows (fetching keeps DuckDB's cursor free)."""
        import duckdb

        try:
            return self.connection.execute(sql, list(params) if params else None).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB statement failed: {exc}\nSQL: {sql[:2000]}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One DuckDB transaction; nested use joins the outer one."""
        if self._in_transaction:
            yield
            return
        self.connection.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        else:
            import duckdb

            try:
                self.connection.execute("COMMIT")
            except duckdb.Error as exc:  # e.g. a conflict with a concurrent transaction; DuckDB rolled back
                raise StoreError(f"DuckDB could not commit: {exc}") from exc
        finally:
            self._in_transaction = False

    def is_transient(self, error: BaseException) -> bool:
        """Write conflicts between transactions, and another process holding the file, pass with a retry."""
        import duckdb

        for exc in error_chain(error):
            if isinstance(exc, duckdb.TransactionException):
                return True
            if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
                return True
        return False

    def write_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """Bulk-create a table from Arrow through DuckDB's zero-copy Arrow scan."""
        import duckdb

        con = self.connection
        # Unique per call: a registered name is visible to the whole connection, and another
        # thread's write on a shared connection must never scan this data.
        view = f"__pipedag_arrow_{uuid.uuid4().hex}"
        try:
            con.register(view, data)
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB cannot scan the Arrow data for {schema}.{name}: {exc}") from exc
        try:
            self.execute_sql(f"CREATE TABLE {qualified(schema, name)} AS SELECT {_select_list(data)} FROM {view}")
        finally:
            con.unregister(view)

    def read_arrow(self, schema: str, name: str) -> pa.Table:
        """Read a table as Arrow (the fast path: no per-row Python objects)."""
        import duckdb

        try:
            table = self.connection.sql(f"SELECT * FROM {qualified(schema, name)}").to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"Reading {schema}.{name} from DuckDB failed: {exc}") from exc
        return restore_durations(table)

    row_hash_type: ClassVar[str] = "UBIGINT"

    def row_hash_sql(self, columns: Sequence[Column], alias: str) -> str:
        """DuckDB's ``hash()`` over the names and the values sorted by name.

        ``hash`` already gives every integer width the same value; floats become DOUBLE and
        enums VARCHAR so that widening a column is not a change.
        """
        ordered = sorted(columns, key=lambda c: c.name)
        names = ",".join(c.name for c in ordered).replace("'", "''")
        values = [_canonical(f"{quote(alias)}.{quote(c.name)}", c.type) for c in ordered]
        return f"hash('{names}', {', '.join(values)})"

    def aggregate_hash_sql(self, expr: str) -> str:
        """The hash of the sorted list of a group's row hashes."""
        return f"hash(list_sort(list({expr})))"

    def combine_hashes_sql(self, exprs: Sequence[str]) -> str:
        """``hash(h1, h2, ...)``: positional, and NULL hashes to a fixed value."""
        return f"hash({', '.join(exprs)})"

    def query_arrow(self, sql: str) -> pa.Table:
        """Fetch a query's result as Arrow through a cursor of its own."""
        import duckdb

        try:
            return self.connection.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB query failed: {exc}\nSQL: {sql[:2000]}") from exc

    def append_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """``INSERT INTO ... BY NAME`` from a zero-copy Arrow scan."""
        import duckdb

        view = f"__pipedag_append_{uuid.uuid4().hex[:12]}"
        try:
            self.connection.register(view, data)
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB cannot scan the Arrow data for {schema}.{name}: {exc}") from exc
        try:
            self.execute_sql(f"INSERT INTO {qualified(schema, name)} BY NAME SELECT * FROM {quote(view)}")
        finally:
            self.connection.unregister(view)

    def default_blob_root(self) -> Path | None:
        """Beside the database file: ``<file stem>.blobs``."""
        return self.path.with_suffix(".blobs")

    def database_files(self) -> list[Path]:
        """The database file and its write-ahead log."""
        return [self.path, self.path.with_name(self.path.name + ".wal")]

    def arrow_schema(self, schema: str, name: str) -> pa.Schema:
        """The Arrow schema of a table, read from an empty result (no rows scanned)."""
        return self.connection.sql(f"SELECT * FROM {qualified(schema, name)} LIMIT 0").to_arrow_table().schema

    def list_tables(self, schema: str) -> set[str]:
        """Tables in ``schema`` from DuckDB's catalog function."""
        rows = self.execute_sql(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = $1 AND database_name = current_database()",
            [schema],
        )
        return {r[0] for r in rows}

    def table_columns(self, schema: str, name: str) -> tuple[Column, ...]:
        """Column names and types, in order."""
        rows = self.execute_sql(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $1 AND table_name = $2 "
            "AND database_name = current_database() ORDER BY column_index",
            [schema, name],
        )
        return tuple(Column(n, t) for n, t in rows)

    def create_table_as(self, schema: str, name: str, sql: str, params: Sequence[Any]) -> int:
        """CTAS; DuckDB reports the inserted row count as the statement's result."""
        rows = self.execute_sql(f"CREATE TABLE {qualified(schema, name)} AS {sql}", params)
        return int(rows[0][0]) if rows else 0

    def sa_type(self, db_type: str) -> sa.types.TypeEngine[Any]:
        """Map a DuckDB type name to SQLAlchemy (unknown types become NullType)."""
        if db_type in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[db_type]
        match = _DECIMAL.match(db_type)
        if match:
            return sa.Numeric(int(match.group(1)), int(match.group(2)))
        return sa.types.NullType()
