"""PostgreSQL table store: the team backend.

Statements and transactions go through one psycopg 3 connection; bulk data moves through one
ADBC connection (Arrow in, Arrow out). ``benchmarks/postgres_io.py`` compares ADBC ingest with
psycopg binary COPY: COPY itself is about as fast, but feeding it from a frame needs Python row
tuples, which costs more than the copy, so ADBC wins end to end.

PostgreSQL DDL is transactional, so the view-swap publish of :mod:`pipedag.store.base` is
atomic for readers. Dropping an old physical table waits for every reader that still has it
open; pipedag therefore drops with a short ``lock_timeout`` outside the publish transaction
and simply retries at the next publish when a reader is in the way.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pipedag.cache.hashing import digest
from pipedag.core.table import Column, TableRef
from pipedag.errors import ColumnError, ConfigError, StateError, StoreError
from pipedag.log import get_logger
from pipedag.store.base import SQLTableStore, error_chain
from pipedag.store.columns import restore_durations
from pipedag.store.identifiers import qualified, quote

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

    from pipedag.config.context import ConfigContext

_SIMPLE_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "boolean": sa.Boolean(),
    "smallint": sa.SmallInteger(),
    "integer": sa.Integer(),
    "bigint": sa.BigInteger(),
    "real": sa.Float(),
    "double precision": sa.Double(),
    "text": sa.Text(),
    "character varying": sa.String(),
    "date": sa.Date(),
    "time without time zone": sa.Time(),
    "timestamp without time zone": sa.DateTime(),
    "timestamp with time zone": sa.DateTime(timezone=True),
    "interval": sa.Interval(),
    "bytea": sa.LargeBinary(),
    "uuid": sa.Uuid(),
    "json": postgresql.JSON(),
    "jsonb": postgresql.JSONB(),
    "numeric": sa.Numeric(),
}
_PARAMETRIZED = re.compile(r"^(numeric|character varying|character)\((\d+)(?:,\s*(\d+))?\)$")

#: How long a garbage-collecting DROP waits for readers before it gives up until the next publish.
GC_LOCK_TIMEOUT = "200ms"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy style) -> ``postgresql://...`` (what libpq and ADBC read)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql") and not parts.scheme.startswith("postgres"):
        raise ConfigError(f"PostgreSQL URL {url!r} must start with postgresql://.")
    return urlunsplit(("postgresql", *parts[1:]))


def database_name(url: str) -> str:
    """The database a URL names (``postgresql://host/db`` -> ``db``).

    Raises:
        ConfigError: when the URL names no database.
    """
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise ConfigError(f"PostgreSQL URL {url!r} names no database; append /<database>.")
    return name


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def ensure_database(url: str) -> None:
    """Create the database a URL names unless it exists (``create_database_if_not_exists``).

    Raises:
        StoreError: when the server refuses (e.g. missing CREATEDB privilege).
    """
    import psycopg

    name = database_name(url)
    try:
        with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as con:
            exists = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists is None:
                con.execute(f"CREATE DATABASE {quote(name)}")
                get_logger().info("created database", database=name)
    except psycopg.errors.DuplicateDatabase:
        pass  # another process created it at the same moment
    except psycopg.Error as exc:
        raise StoreError(
            f"create_database_if_not_exists: cannot create database {name!r} at {_safe(url)}: {exc}"
        ) from exc


def connect_error(url: str, exc: Exception, purpose: str) -> StoreError:
    """The error for a failed connection; a missing database gets its own message and the fix."""
    name = database_name(url)
    if f'database "{name}" does not exist' in str(exc):
        return StoreError(
            f"PostgreSQL database {name!r} does not exist at {_safe(url)}. Create it (CREATE DATABASE "
            f"{quote(name)}), or set table_store.args.create_database_if_not_exists: true in pipedag.yaml "
            "to let pipedag create it."
        )
    return StoreError(f"Cannot connect to PostgreSQL at {_safe(url)} {purpose}: {exc}".strip())


class PostgresTableStore(SQLTableStore):
    """Table store on a PostgreSQL server (15 or newer).

    ``table_store.args`` understood besides ``url``: ``create_database_if_not_exists``
    (create the URL's database on first use, e.g. one database per instance).
    """

    name: ClassVar[str] = "postgresql"
    max_identifier_length: ClassVar[int] = 63  # NAMEDATALEN - 1; longer names are truncated silently
    dialect: ClassVar[sa.Dialect] = postgresql.psycopg.dialect(paramstyle="format")  # type: ignore[no-untyped-call]
    drop_in_publish_transaction: ClassVar[bool] = False
    concurrent_writers: ClassVar[bool] = True

    def __init__(self, config: ConfigContext) -> None:
        super().__init__(config)
        self.url = libpq_url(config.table_store_url)
        database_name(self.url)
        self._con: psycopg.Connection[Any] | None = None
        self._adbc: Any = None
        self._in_transaction = False

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The open psycopg connection (autocommit outside :meth:`transaction`).

        A connection the server closed (terminated, idle timeout) is replaced between
        transactions, so that a failed stage can still be cleaned up and the run recorded;
        the statement that met the closed connection has already failed with a StoreError.
        """
        if self._con is None:
            raise StateError("PostgreSQL store is not open; use `with store:` first.")
        if self._con.broken and not self._in_transaction:
            get_logger().warning("PostgreSQL connection was closed by the server; reconnecting")
            self._con = None
            self._connect()
            assert self._con is not None
        return self._con

    # ------------------------------------------------------------ connections

    def _connect(self) -> None:
        import psycopg

        if self.config.table_store_args.get("create_database_if_not_exists"):
            ensure_database(self.url)
        try:
            options = "-c default_transaction_read_only=on" if self.read_only else None
            self._con = psycopg.connect(self.url, autocommit=True, options=options)
        except psycopg.Error as exc:
            raise connect_error(self.url, exc, "for the table store") from exc

    def _disconnect(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def _reset_bulk(self) -> None:
        """Forget the ADBC connection after a failure (it may be dead); the next transfer opens a new one."""
        try:
            if self._adbc is not None:
                self._adbc.close()
        except Exception:  # closing a broken connection may fail in any driver-specific way
            pass
        self._adbc = None

    def _bulk(self) -> Any:
        """The ADBC connection, opened on first bulk transfer (it costs ~70 ms, and imports pyarrow)."""
        if self._adbc is None:
            self._require_open()
            try:
                import adbc_driver_postgresql.dbapi as adbc
            except ImportError as exc:
                raise ConfigError(
                    "The PostgreSQL store moves data through ADBC; run: pip install 'pipedag[postgres]'."
                ) from exc
            # Autocommit so that a read never leaves a transaction holding locks that block a DROP.
            self._adbc = adbc.connect(self.url, autocommit=True)
        return self._adbc

    # ------------------------------------------------------------- statements

    def execute_sql(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and fetch its rows.

        Statements rendered by :meth:`render` arrive with a (possibly empty) list of parameters and
        have ``%`` escaped as ``%%``; hand-written DDL arrives with the default empty tuple and is
        sent as it is.
        """
        import psycopg

        args = list(params) if isinstance(params, list) or params else None
        try:
            cursor = self.connection.execute(sql, args)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL statement failed: {exc}\nSQL: {sql[:2000]}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One PostgreSQL transaction; a nested block becomes a savepoint of the outer one."""
        import psycopg

        outer = not self._in_transaction
        try:
            with self.connection.transaction():
                self._in_transaction = True
                yield
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL transaction failed: {exc}") from exc
        finally:
            if outer:
                self._in_transaction = False

    def is_transient(self, error: BaseException) -> bool:
        """Serialization failures, deadlocks, and catalog races of concurrent ``CREATE ... IF NOT EXISTS``."""
        import psycopg

        for exc in error_chain(error):
            if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
                return True
            if isinstance(exc, psycopg.errors.UniqueViolation) and (exc.diag.constraint_name or "").startswith("pg_"):
                return True
        return False

    @contextmanager
    def schema_script_lock(self, schema: str) -> Iterator[None]:
        """A session advisory lock on the schema: scripts of other worker processes wait too."""
        import xxhash

        key = xxhash.xxh3_64_intdigest(f"pipedag script {self.url} {schema}".encode()) - 2**63
        self.execute_sql("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            self.execute_sql("SELECT pg_advisory_unlock(%s)", [key])

    # ------------------------------------------------------------------- data

    def write_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """Create the table and fill it with ADBC's binary COPY ingest.

        Raises:
            StoreError: for a column name PostgreSQL would truncate, or when the upload fails.
        """
        for column in data.column_names:
            if len(column.encode()) > self.max_identifier_length:
                raise ColumnError(
                    f"Column {column!r} of table {name!r} has {len(column.encode())} bytes; PostgreSQL keeps "
                    f"{self.max_identifier_length} and would shorten it silently. Rename the column."
                )
        data = _microseconds(_ingestible(data))
        # pipedag writes the CREATE TABLE itself: ADBC would declare decimals as bare NUMERIC
        # (losing precision and scale) and reject some types with less helpful errors.
        columns = ", ".join(f"{quote(f.name)} {_pg_type(f)}" for f in data.schema)
        self.execute_sql(f"CREATE TABLE {qualified(schema, name)} ({columns})")
        try:
            with self._bulk().cursor() as cur:
                cur.adbc_ingest(name, data, mode="append", db_schema_name=schema)
        except Exception as exc:
            if not _is_adbc_error(exc):
                raise
            self._reset_bulk()
            raise StoreError(f"Bulk upload into {schema}.{name} failed: {exc}") from exc

    def read_arrow(self, schema: str, name: str) -> pa.Table:
        """Fetch a whole table as Arrow through ADBC (PostgreSQL's binary COPY protocol)."""
        try:
            with self._bulk().cursor() as cur:
                cur.execute(f"SELECT * FROM {qualified(schema, name)}")
                table = cur.fetch_arrow_table()
        except Exception as exc:
            if not _is_adbc_error(exc):
                raise
            self._reset_bulk()
            raise StoreError(f"Bulk download of {schema}.{name} failed: {exc}") from exc
        return restore_durations(_decimals(table, f"{schema}.{name}"))

    # ------------------------------------------------------------ row hashes

    def row_hash_sql(self, columns: Sequence[Column], alias: str) -> str:
        """The XOR of per-column hashes, each seeded by the column's name.

        PostgreSQL's typed hash functions are ~5x cheaper than hashing a row's text. Seeds from
        the names make the hash independent of column order; integers hash as BIGINT and
        numerics by value (as PostgreSQL's hash joins require), so widening is not a change.
        A NULL hashes to a constant of its own per column.
        """
        parts = []
        for column in columns:
            seed = int(digest(column.name)[:15], 16)
            value = f"{quote(alias)}.{quote(column.name)}"
            parts.append(f"COALESCE({_typed_hash(value, column.type, seed)}, {seed // 3})")
        return " # ".join(parts) if parts else "0"

    def aggregate_hash_sql(self, expr: str) -> str:
        """The hash of a group's row hashes as sorted text."""
        return f"hashtextextended(string_agg(({expr})::text, ',' ORDER BY {expr}), 0)"

    def combine_hashes_sql(self, exprs: Sequence[str]) -> str:
        """The hash of the hashes' row text (a NULL stays distinguishable by position)."""
        return f"hashtextextended(ROW({', '.join(exprs)})::text, 0)"

    index_key_lookups: ClassVar[bool] = True

    def analyze(self, table: str) -> None:
        """``ANALYZE``: a freshly filled table has no statistics, and key joins would be misplanned."""
        self.execute_sql(f"ANALYZE {table}")

    def query_arrow(self, sql: str) -> pa.Table:
        """Fetch a query's result as Arrow through ADBC."""
        try:
            with self._bulk().cursor() as cur:
                cur.execute(sql)
                return cur.fetch_arrow_table()
        except Exception as exc:
            if not _is_adbc_error(exc):
                raise
            raise StoreError(f"PostgreSQL query failed: {exc}\nSQL: {sql[:2000]}") from exc

    def append_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """ADBC binary COPY into an existing table."""
        data = _microseconds(_ingestible(data))
        try:
            with self._bulk().cursor() as cur:
                cur.adbc_ingest(name, data, mode="append", db_schema_name=schema)
        except Exception as exc:
            if not _is_adbc_error(exc):
                raise
            raise StoreError(f"Bulk upload into {schema}.{name} failed: {exc}") from exc

    # ---------------------------------------------------------------- catalog

    def list_tables(self, schema: str) -> set[str]:
        """Tables in ``schema`` from ``pg_tables``."""
        return {r[0] for r in self.execute_sql("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])}

    def table_columns(self, schema: str, name: str) -> tuple[Column, ...]:
        """Column names and types (``format_type`` spelling), in order."""
        rows = self.execute_sql(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [qualified(schema, name)],
        )
        return tuple(Column(n, t) for n, t in rows)

    def create_table_as(self, schema: str, name: str, sql: str, params: Sequence[Any]) -> int:
        """CTAS; PostgreSQL reports the row count in the command tag."""
        import psycopg

        notices: list[tuple[str | None, str | None]] = []

        def collect(notice: psycopg.errors.Diagnostic) -> None:
            # A Diagnostic's fields are only readable inside the handler.
            notices.append((notice.sqlstate, notice.message_primary))

        self.connection.add_notice_handler(collect)
        # The query arrives rendered with %-placeholders; a % in the schema name must not read as one.
        target = qualified(schema, name).replace("%", "%%")
        try:
            cursor = self.connection.execute(f"CREATE TABLE {target} AS {sql}", list(params))
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL statement failed: {exc}\nSQL: {sql[:2000]}") from exc
        finally:
            self.connection.remove_notice_handler(collect)
        # PostgreSQL only warns when it truncates a column name (SQLSTATE 42622): refuse instead.
        truncated = [message for state, message in notices if state == "42622"]
        if truncated:
            self.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, name)}")
            raise StoreError(
                f"PostgreSQL would shorten a name in the query of table {name!r}: {truncated[0]}. "
                f"Identifiers keep at most {self.max_identifier_length} bytes; use a shorter column label."
            )
        return max(cursor.rowcount, 0)

    def sa_type(self, db_type: str) -> sa.types.TypeEngine[Any]:
        """Map a ``format_type`` name to SQLAlchemy (unknown types become NullType)."""
        if db_type in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[db_type]
        match = _PARAMETRIZED.match(db_type)
        if match:
            base, first, second = match.groups()
            if base == "numeric":
                return sa.Numeric(int(first), int(second or 0))
            return sa.String(int(first))
        if db_type.endswith("[]"):
            return postgresql.ARRAY(self.sa_type(db_type[:-2]))
        return sa.types.NullType()

    # ------------------------------------------------------------------ views

    def _point_view(self, schema: str, name: str, ref: TableRef) -> None:
        """Replace the view in place when PostgreSQL allows it, else drop and recreate it.

        ``CREATE OR REPLACE VIEW`` keeps views that users built on pipedag's view working, but only
        if the columns stay the same (new ones may be appended). When they changed, the view has to
        be dropped, which PostgreSQL refuses while another view depends on it.

        Raises:
            StoreError: naming the dependent views when the view cannot be re-pointed.
        """
        import psycopg

        target, source = qualified(schema, name), qualified(ref.schema, ref.physical_name)
        try:
            with self.connection.transaction():  # a savepoint: a refused replace leaves the publish usable
                self.connection.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {source}")
            return
        except (psycopg.errors.InvalidTableDefinition, psycopg.errors.DatatypeMismatch):
            pass  # columns were removed, renamed or retyped
        try:
            with self.connection.transaction():
                self.connection.execute(f"DROP VIEW IF EXISTS {target}")
                self.connection.execute(f"CREATE VIEW {target} AS SELECT * FROM {source}")
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise self._dependents_error(schema, name, "its columns changed") from exc

    def _drop_view(self, schema: str, name: str) -> None:
        """Drop the view of a table the stage no longer has, unless other views depend on it."""
        import psycopg

        try:
            with self.connection.transaction():
                self.connection.execute(f"DROP VIEW IF EXISTS {qualified(schema, name)}")
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise self._dependents_error(schema, name, "the stage no longer has this table") from exc

    def _dependents_error(self, schema: str, name: str, why: str) -> StoreError:
        views = ", ".join(self.dependent_views([(schema, name)])) or "another object"
        return StoreError(
            f"View {schema}.{name} must be replaced because {why}, but {views} (not created by pipedag) "
            f"depends on it. Drop {views} (recreate it after the run) or keep the table's columns unchanged."
        )

    def dependent_views(self, relations: Sequence[tuple[str, str]]) -> list[str]:
        """Views outside ``relations`` (``(schema, name)`` pairs) that read any of them, from pg_depend."""
        names = [qualified(schema, name) for schema, name in relations]
        rows = self.execute_sql(
            "SELECT DISTINCT dn.nspname, dc.relname FROM pg_depend d "
            "JOIN pg_rewrite w ON w.oid = d.objid AND d.classid = 'pg_rewrite'::regclass "
            "JOIN pg_class dc ON dc.oid = w.ev_class JOIN pg_namespace dn ON dn.oid = dc.relnamespace "
            "WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%s::regclass[]) "
            "AND dc.oid <> d.refobjid AND NOT (dc.oid = ANY(%s::regclass[])) ORDER BY 1, 2",
            [names, names],
        )
        return [f"{s}.{n}" for s, n in rows]

    # -------------------------------------------------------- garbage collection

    def drop_tables(self, refs: Sequence[TableRef]) -> None:
        """Drop tables of an unpublished stage; one a published view still reads is moved aside instead.

        That happens when the metadata recording a published table was lost (``clear-metadata``):
        dropping it would break the published view (PostgreSQL refuses), while a rename keeps the
        view working (views follow renames) and garbage collection drops it once unused.
        """
        import psycopg

        self._require_open()
        with self.transaction():
            for ref in refs:
                target = qualified(ref.schema, ref.physical_name)
                try:
                    with self.connection.transaction():  # a savepoint, so the failure below is recoverable
                        self.connection.execute(f"DROP TABLE IF EXISTS {target}")
                except psycopg.errors.DependentObjectsStillExist:
                    stale = f"{ref.physical_name[:40]}_stale_{uuid.uuid4().hex[:12]}"
                    self.connection.execute(f"ALTER TABLE {target} RENAME TO {quote(stale)}")

    def _drop_unused(self, schema: str, names: list[str]) -> list[str]:
        """Drop each table in its own short transaction; one a reader still uses waits for the next GC."""
        import psycopg

        dropped: list[str] = []
        for name in names:
            try:
                with self.connection.transaction():
                    self.connection.execute(f"SET LOCAL lock_timeout = '{GC_LOCK_TIMEOUT}'")
                    self.connection.execute(f"DROP TABLE IF EXISTS {qualified(schema, name)}")
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DependentObjectsStillExist):
                get_logger().debug("old table still in use; dropped at a later publish", table=f"{schema}.{name}")
                continue
            except psycopg.Error as exc:
                raise StoreError(f"Dropping old table {schema}.{name} failed: {exc}") from exc
            dropped.append(name)
        return dropped


_INTEGERS = ("smallint", "integer", "bigint")


def _typed_hash(value: str, db_type: str, seed: int) -> str:
    """A 64-bit hash of one column value by PostgreSQL's own per-type hash function."""
    if db_type in _INTEGERS:
        return f"hashint8extended(CAST({value} AS BIGINT), {seed})"
    if db_type in ("real", "double precision"):
        return f"hashfloat8extended(CAST({value} AS DOUBLE PRECISION), {seed})"
    if db_type.startswith("numeric"):
        return f"hash_numeric_extended({value}, {seed})"
    return f"hashtextextended(CAST({value} AS TEXT), {seed})"


def _pg_type(field: pa.Field) -> str:
    """The PostgreSQL column type for an Arrow field.

    Raises:
        StoreError: naming the column for a type PostgreSQL cannot hold as a plain column.
    """
    import pyarrow as pa

    kind = field.type
    simple = {
        pa.int8(): "smallint", pa.int16(): "smallint", pa.int32(): "integer", pa.int64(): "bigint",
        pa.uint8(): "smallint", pa.uint16(): "integer", pa.uint32(): "bigint",
        pa.float16(): "real", pa.float32(): "real", pa.float64(): "double precision", pa.bool_(): "boolean",
        pa.string(): "text", pa.large_string(): "text", pa.binary(): "bytea", pa.large_binary(): "bytea",
        pa.date32(): "date", pa.date64(): "date", pa.null(): "text",
    }
    if kind in simple:
        return simple[kind]
    if pa.types.is_timestamp(kind):
        return "timestamp with time zone" if kind.tz else "timestamp without time zone"
    if pa.types.is_time(kind):
        return "time without time zone"
    if pa.types.is_duration(kind):
        return "interval"
    if pa.types.is_decimal(kind):
        return f"numeric({kind.precision}, {kind.scale})"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _pg_type(pa.field(field.name, kind.value_type)) + "[]"
    raise ColumnError(
        f"Column {field.name!r} has Arrow type {kind}, which the PostgreSQL store cannot "
        "hold (structs, maps, unions, unsigned 64-bit ints). Flatten it into plain columns or encode it as JSON text."
    )


def _decimals(table: pa.Table, where: str) -> pa.Table:
    """Turn NUMERIC columns back into Arrow decimals.

    ADBC hands NUMERIC over as text (an opaque extension type) with the column's ``typmod`` in
    the field metadata: ``numeric(p, s)`` becomes ``decimal(p, s)``; a bare ``numeric`` gets the
    largest scale among its values.

    Raises:
        ColumnError: for values no Arrow decimal holds (NaN, infinity, more than 76 digits).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        meta = field.metadata or {}
        if meta.get(b"POSTGRESQL:type") != b"numeric":
            continue
        text = table.column(i)
        if isinstance(field.type, pa.BaseExtensionType):
            text = pa.chunked_array([chunk.storage for chunk in text.chunks], field.type.storage_type)
        typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
        if typmod >= 4:
            precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
        else:
            fraction = pc.utf8_length(pc.replace_substring_regex(text, r"^[^.]*\.?", ""))
            scale = int(pc.max(fraction).as_py() or 0)
            digits = pc.utf8_length(pc.replace_substring_regex(text, r"[^0-9]", ""))
            precision = max(int(pc.max(digits).as_py() or 1), scale + 1)
        kind = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(min(precision, 76), scale)
        try:
            column = text.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ColumnError(
                f"Column {field.name!r} of {where} holds NUMERIC values no decimal type keeps ({exc}); "
                "cast it in SQL (e.g. to double precision or text)."
            ) from exc
        table = table.set_column(i, pa.field(field.name, kind, field.nullable), column)
    return table


def _is_adbc_error(exc: Exception) -> bool:
    """Whether ``exc`` comes from the ADBC driver (whose exception classes live in its own modules)."""
    return type(exc).__module__.split(".", 1)[0] in ("adbc_driver_manager", "adbc_driver_postgresql")


def _ingestible(data: pa.Table) -> pa.Table:
    """Cast Arrow types ADBC cannot ingest (views, dictionaries) to plain ones."""
    import pyarrow as pa

    fields = []
    changed = False
    for field in data.schema:
        kind = field.type
        if pa.types.is_string_view(kind) or pa.types.is_large_string(kind):
            kind = pa.string() if pa.types.is_string_view(kind) else kind
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        changed = changed or kind != field.type
        fields.append(field.with_type(kind))
    return data.cast(pa.schema(fields)) if changed else data


def _microseconds(data: pa.Table) -> pa.Table:
    """Cast nanosecond timestamps and times to PostgreSQL's microseconds, refusing to drop digits.

    pandas timestamps are nanoseconds even when every value is whole microseconds, so those pass;
    a value with sub-microsecond digits would be truncated silently by the driver instead.

    Raises:
        StoreError: naming the column whose values need nanosecond precision.
    """
    import pyarrow as pa

    for i, field in enumerate(data.schema):
        kind = field.type
        if not (pa.types.is_timestamp(kind) or pa.types.is_time64(kind)) or kind.unit != "ns":
            continue
        target = pa.timestamp("us", tz=kind.tz) if pa.types.is_timestamp(kind) else pa.time64("us")
        try:
            column = data.column(i).cast(target)  # a safe cast raises instead of truncating
        except pa.ArrowInvalid as exc:
            raise ColumnError(
                f"Column {field.name!r} holds nanosecond values; PostgreSQL keeps "
                "microseconds and would drop digits. Round the column to microseconds first "
                "(pandas: .dt.floor('us'); polars: .dt.cast_time_unit('us'))."
            ) from exc
        data = data.set_column(i, field.with_type(target), column)
    return data


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and ":" in netloc.split("@", 1)[0]:
        user = netloc.split("@", 1)[0].split(":", 1)[0]
        netloc = f"{user}:***@{netloc.split('@', 1)[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
