"""``SQLTableStore``: the storage algorithm, written once for every database.

Layout of a stage ``s`` (schema names get the instance's prefix/suffix):

* ``s__pipedag`` holds the physical tables. Each is named ``<table>__<key>`` after the hash
  of its content identity, so a new version never overwrites a table a reader may be using,
  and a cache-valid table is simply kept where it is.
* ``s`` holds one view per table, ``s.<table>``, pointing at the current physical table.
  This is what users query.
* ``<prefix>pipedag_metadata<suffix>`` records runs, stage versions and, per version, every task's cache key
  and output tables (with their columns, so nothing is reflected on the hot path).

Publishing a stage re-points the changed views and records the new version in one database
transaction: readers see the old stage or the new one, never a mix. Tasks write their tables
before that, outside the transaction, where no reader looks; a failed stage drops them again.
Cache-valid tables are never copied or moved. Old physical tables are dropped only after
they fall out of the last ``keep_stage_versions`` versions.

A backend subclass supplies the primitives (connect, execute, bulk write/read, catalog
listing) and may override a step where its database allows something better.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

from pipedag.cache.hashing import digest
from pipedag.cache.keys import Ingredients
from pipedag.core.names import RESERVED_MARKER
from pipedag.core.table import Column, TableRef
from pipedag.errors import ConfigError, LockError, StateError, StoreError
from pipedag.log import get_logger
from pipedag.store import metadata as md
from pipedag.store.history import StageHistory, TaskRecord
from pipedag.store.identifiers import qualified, quote
from pipedag.store.publish_checks import run_publish_checks

if TYPE_CHECKING:
    import pyarrow as pa

    from pipedag.config.context import ConfigContext


class StoreState(enum.Enum):
    """Lifecycle of a store: it must be opened before use and is closed afterwards."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class SQLTableStore(ABC):
    """Stores stage tables in a SQL database and publishes stages atomically.

    Args:
        config: The instance's settings (URL, schema prefix/suffix, retention).
    """

    #: Name used in ``table_store.class`` and the registry.
    name: ClassVar[str]
    #: Longest identifier the database keeps without truncating.
    max_identifier_length: ClassVar[int] = 63
    #: SQLAlchemy dialect used to render task SQL and metadata statements.
    dialect: ClassVar[sa.Dialect]
    #: Whether several processes may write to the database at once (distributed engines need it).
    concurrent_writers: ClassVar[bool] = False
    #: Whether column names that differ only in case name the same column.
    case_insensitive_columns: ClassVar[bool] = False
    #: Set by ``open(read_only=True)``.
    read_only: bool = False

    def __init__(self, config: ConfigContext) -> None:
        self.config = config
        self.state = StoreState.NEW

    # ----------------------------------------------------------------- lifecycle

    def open(self, create: bool = True, *, read_only: bool = False) -> None:
        """Connect and make sure the metadata schema exists.

        Args:
            create: False to only look (admin commands): nothing is created, and
                :meth:`metadata_exists` tells whether there is anything to look at.
            read_only: Only read (``pipedag ui``): implies ``create=False``, the connection refuses
                writes, and a DuckDB file is shared with other readers.

        Raises:
            StateError: if the store was opened before.
        """
        if self.state is not StoreState.NEW:
            raise StateError(f"Table store is {self.state.value}; a store can be opened once. Create a new one.")
        self.read_only = read_only
        self._connect()
        self.state = StoreState.OPEN
        if create and not read_only:  # inspecting commands open without creating (or migrating) anything
            try:
                self._ensure_metadata()
                self._check_metadata_version()
            except BaseException:
                self.close()  # the caller's `with` block never started: release the database here
                raise

    def database_exists(self) -> bool:
        """Whether the database exists already (checked before opening, which may create it)."""
        return True

    def metadata_exists(self) -> bool:
        """Whether this instance's metadata schema exists."""
        literal = self.metadata_schema.replace("'", "''")
        rows = self.execute_sql(
            "SELECT 1 FROM information_schema.schemata WHERE catalog_name = current_database() "
            f"AND schema_name = '{literal}'"
        )
        return bool(rows)

    def dependent_views(self, relations: Sequence[tuple[str, str]]) -> list[str]:
        """Views outside ``relations`` (``(schema, name)`` pairs) that read any of them.

        Databases that do not track view dependencies (DuckDB) never drop such views along with
        what they read, so they report none.
        """
        return []

    def close(self) -> None:
        """Disconnect (releases the database file for other processes on DuckDB)."""
        if self.state is StoreState.OPEN:
            self._disconnect()
        self.state = StoreState.CLOSED

    def __enter__(self) -> SQLTableStore:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _require_open(self) -> None:
        if self.state is not StoreState.OPEN:
            raise StateError(f"Table store is {self.state.value}; open it first (use `with store:`).")

    # ------------------------------------------------------- backend primitives

    @abstractmethod
    def _connect(self) -> None:
        """Open the database connection."""

    @abstractmethod
    def _disconnect(self) -> None:
        """Close the database connection."""

    @abstractmethod
    def execute_sql(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (positional parameters in the dialect's style) and fetch all rows."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one database transaction; roll back on error."""

    @abstractmethod
    def write_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """Create table ``schema.name`` from an Arrow table by the database's fastest path."""

    @abstractmethod
    def read_arrow(self, schema: str, name: str) -> pa.Table:
        """Read a whole table as Arrow."""

    # ------------------------------------------------ record-level (incremental) hooks

    #: SQL type of the 64-bit row hashes :meth:`row_hash_sql` returns.
    row_hash_type: ClassVar[str] = "BIGINT"

    def row_hash_sql(self, columns: Sequence[Column], alias: str) -> str:
        """A 64-bit hash of a row's values, computed by the database.

        Equal values hash equally whatever the column order or integer width: columns are taken
        sorted by name and the names are part of the hash.

        Raises:
            StoreError: when the backend cannot hash rows (no record-level incremental tasks).
        """
        raise StoreError(f"The {self.name} table store cannot hash rows, so incremental tasks cannot run on it.")

    def aggregate_hash_sql(self, expr: str) -> str:
        """An aggregate combining the row hashes ``expr`` of a group, independent of row order."""
        raise StoreError(f"The {self.name} table store cannot aggregate row hashes.")

    def combine_hashes_sql(self, exprs: Sequence[str]) -> str:
        """One hash of several (possibly NULL) hashes, sensitive to their position."""
        raise StoreError(f"The {self.name} table store cannot combine row hashes.")

    #: Whether tables changed by key get an index on the key (row stores); column stores scan.
    index_key_lookups: ClassVar[bool] = False

    def analyze(self, table: str) -> None:
        """Refresh the planner's statistics of a (qualified) table pipedag just filled (a no-op by default)."""
        return None

    def query_arrow(self, sql: str) -> pa.Table:
        """Run a query (no parameters) and fetch its whole result as Arrow."""
        raise StoreError(f"The {self.name} table store cannot fetch query results as Arrow.")

    def append_arrow(self, schema: str, name: str, data: pa.Table) -> None:
        """Insert an Arrow table's rows into the existing table ``schema.name`` (columns by name)."""
        raise StoreError(f"The {self.name} table store cannot append Arrow data.")

    def is_transient(self, error: BaseException) -> bool:
        """Whether ``error`` is a conflict with a concurrent transaction or process that a retry resolves.

        Callers that run short transactions concurrently (the batch inventory) retry on these.
        """
        return False

    def default_blob_root(self) -> Path | None:
        """Where blobs go when the config names no folder; None for the working directory's default."""
        return None

    def database_files(self) -> list[Path]:
        """Files holding the whole database, if it is embedded: unchanged files mean unchanged data."""
        return []

    def arrow_schema(self, schema: str, name: str) -> pa.Schema:
        """The Arrow schema a table reads back with; backends override this to skip the rows."""
        return self.read_arrow(schema, name).schema

    @abstractmethod
    def list_tables(self, schema: str) -> set[str]:
        """Names of the tables in ``schema`` (one catalog query)."""

    @abstractmethod
    def table_columns(self, schema: str, name: str) -> tuple[Column, ...]:
        """Column names and database types of a table pipedag just wrote."""

    @abstractmethod
    def create_table_as(self, schema: str, name: str, sql: str, params: Sequence[Any]) -> int:
        """``CREATE TABLE schema.name AS <sql>``; return the number of rows."""

    @abstractmethod
    def sa_type(self, db_type: str) -> sa.types.TypeEngine[Any]:
        """SQLAlchemy type for a database type name recorded in the metadata."""

    # ------------------------------------------------------------------- helpers

    def execute(self, statement: sa.ClauseElement) -> list[tuple[Any, ...]]:
        """Run a statement on pipedag's metadata tables, in this instance's metadata schema."""
        sql, params = self._compile(statement, {md.METADATA_SCHEMA: self.metadata_schema})
        return self.execute_sql(sql, params)

    def render(self, statement: sa.ClauseElement) -> tuple[str, list[Any]]:
        """Compile SQL to text plus positional parameters, exactly as it will run."""
        return self._compile(statement, None)

    def _compile(self, statement: sa.ClauseElement, schemas: dict[str, str] | None) -> tuple[str, list[Any]]:
        # Schema translation is for metadata statements only: it renders every schema name
        # through the quote-if-needed path, and task SQL keeps its always-quoted names.
        compiled = statement.compile(
            dialect=self.dialect,
            schema_translate_map=schemas,
            render_schema_translate=schemas is not None,
            compile_kwargs={"render_postcompile": True},
        )
        params = compiled.params
        order = getattr(compiled, "positiontup", None) or []
        return str(compiled), [params[name] for name in order]

    @property
    def metadata_schema(self) -> str:
        """``schema_prefix + pipedag_metadata + schema_suffix``: instances sharing a database stay apart."""
        return self.checked_identifier(
            f"{self.config.schema_prefix}{md.METADATA_SCHEMA}{self.config.schema_suffix}", "the metadata schema"
        )

    def stage_schema(self, stage: str) -> str:
        """The schema users query: ``schema_prefix + stage + schema_suffix``."""
        schema = f"{self.config.schema_prefix}{stage}{self.config.schema_suffix}"
        # The data schema is the longer of the two names; checking it covers both.
        self.checked_identifier(schema + RESERVED_MARKER, f"the data schema of stage {stage!r}")
        return schema

    def checked_identifier(self, name: str, what: str) -> str:
        """Return ``name`` if the database keeps it whole; databases that truncate would merge names.

        Raises:
            ConfigError: naming ``what`` and the fix when ``name`` is longer than ``max_identifier_length`` bytes.
        """
        size = len(name.encode())
        if size > self.max_identifier_length:
            raise ConfigError(
                f"Identifier {name!r} ({what}) has {size} bytes; {self.name} keeps at most "
                f"{self.max_identifier_length} and would shorten it silently, so distinct names could collide. "
                f"Shorten schema_prefix/schema_suffix of instance {self.config.instance_name!r} or the stage name."
            )
        return name

    def data_schema(self, stage: str) -> str:
        """The schema holding the stage's physical tables."""
        return self.stage_schema(stage) + RESERVED_MARKER

    def physical_name(self, name: str, key: str) -> str:
        """Physical table name for a table with content identity ``key``."""
        return f"{name}__{key[:12]}"

    def sa_table(self, ref: TableRef) -> sa.Table:
        """A SQLAlchemy Table for a stored table, built from metadata (no reflection)."""
        columns = [sa.Column(c.name, self.sa_type(c.type)) for c in ref.columns]
        return sa.Table(
            sa.sql.quoted_name(ref.physical_name, quote=True),
            sa.MetaData(),
            *columns,
            schema=sa.sql.quoted_name(ref.schema, quote=True),
        )

    def _ensure_metadata(self) -> None:
        with self.transaction():
            self.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(self.metadata_schema)}")
            for table in md.metadata.sorted_tables:
                self.execute(CreateTable(table, if_not_exists=True))

    def _add_missing_columns(self) -> None:
        """Add the nullable columns later metadata versions declared to tables created before them."""
        query = sa.text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :s")
        present = set(self.execute_sql(*self.render(query.bindparams(s=self.metadata_schema))))
        for table in md.metadata.sorted_tables:
            for column in table.columns:
                if column.nullable and (table.name, column.name) not in present:
                    kind = column.type.compile(self.dialect)
                    target = qualified(self.metadata_schema, table.name)
                    self.execute_sql(f"ALTER TABLE {target} ADD COLUMN {quote(column.name)} {kind}")

    def _check_metadata_version(self) -> None:
        """Refuse metadata written by a newer pipedag; stamp (migrate) older metadata.

        Raises:
            StoreError: naming the versions and the fix when the metadata is newer than this pipedag.
        """
        v = md.schema_version
        with self.transaction():
            (found,) = self.execute(sa.select(sa.func.max(v.c.version)))[0]
            if found is not None and int(found) > md.SCHEMA_VERSION:
                raise StoreError(
                    f"The metadata schema {self.metadata_schema!r} of instance {self.config.instance_name!r} was "
                    f"written by a newer pipedag (metadata version {found}; this pipedag reads up to "
                    f"{md.SCHEMA_VERSION}). Upgrade pipedag, or give this instance another schema_prefix."
                )
            if found is None or int(found) < md.SCHEMA_VERSION:
                # Versions before 1 had today's layout: their records only lack the storage format,
                # which makes every task rerun once (Ingredients.from_json reads it as format 0).
                self._add_missing_columns()  # version 2: task_runs.started_at
                self.execute(v.delete())
                self.execute(v.insert().values(version=md.SCHEMA_VERSION))

    # ------------------------------------------------------------- the algorithm

    def begin_run(self, flow: str) -> int:
        """Record a new run and return its id (monotonic, never derived from a clock).

        Called under the instance lock, so a run of this instance still marked ``running`` was
        killed: it is marked ``abandoned``.
        """
        self._require_open()
        with self.transaction():
            r = md.runs
            self.execute(
                r.update()
                .where(r.c.status == "running", r.c.instance_id == self.config.instance_id)
                .values(status="abandoned", ended_at=_now())
            )
            (last,) = self.execute(sa.select(sa.func.max(md.runs.c.run_id)))[0]
            run_id = int(last or 0) + 1
            self.execute(
                md.runs.insert().values(
                    run_id=run_id, flow=flow, instance_id=self.config.instance_id, status="running",
                    started_at=_now(),
                )
            )
        return run_id

    def end_run(self, run_id: int, status: str, task_runs: Sequence[Mapping[str, Any]] = ()) -> None:
        """Mark a run finished with ``status`` (``succeeded`` / ``failed``) and keep its task history.

        Args:
            run_id: The run to close.
            status: Its final status.
            task_runs: One row per task of :data:`pipedag.store.metadata.task_runs` (without
                ``run_id``), written with one insert in the same transaction.
        """
        self._require_open()
        with self.transaction():
            self.execute(md.runs.update().where(md.runs.c.run_id == run_id).values(status=status, ended_at=_now()))
            if task_runs:
                self.execute(md.insert_task_runs(run_id, task_runs))

    def load_history(self, stages: Sequence[str]) -> dict[str, StageHistory]:
        """Retained versions and existing physical tables of the given stages (two queries + one per stage)."""
        self._require_open()
        histories = {stage: StageHistory(stage) for stage in stages}
        t = md.task_records
        rows = self.execute(
            sa.select(t.c.stage, t.c.run_id, t.c.task, t.c.cache_key, t.c.ingredients, t.c.outputs).where(
                t.c.stage.in_(list(stages))
            )
        )
        for stage, run_id, task, key, ingredients, outputs in rows:
            try:
                decoded, extra = TaskRecord.decode(json.loads(outputs))
                record = TaskRecord(task, key, Ingredients.from_json(json.loads(ingredients)), decoded, extra)
            except (TypeError, KeyError, ValueError, AttributeError) as exc:
                raise StoreError(
                    f"The metadata record of task {stage}.{task} (run {run_id}) in {self.metadata_schema!r} cannot "
                    f"be read ({type(exc).__name__}: {exc}); it was written by another pipedag version or edited. "
                    "Run `pipedag clear-metadata` (every task then reruns once) or use another schema_prefix."
                ) from exc
            histories[stage].versions.setdefault(int(run_id), []).append(record)
        v = md.stage_versions
        for stage, run_id in self.execute(sa.select(v.c.stage, v.c.run_id).where(v.c.stage.in_(list(stages)))):
            histories[stage].versions.setdefault(int(run_id), [])
        for stage, history in histories.items():
            history.existing_tables = self.list_tables(self.data_schema(stage))
        return histories

    @contextmanager
    def schema_script_lock(self, schema: str) -> Iterator[None]:
        """Hold exclusive use of ``schema`` for a script whose new tables are found by listing it.

        Tasks of a stage may run at once (threads, or processes of a distributed engine); a
        RawSql script finds its tables as the schema's new plain-named tables, so two scripts
        must not run in one schema together. This default serializes the threads of this
        process; stores that admit several writing processes override it with a database lock.
        """
        with _SCRIPT_LOCKS_GUARD:
            lock = _SCRIPT_LOCKS.setdefault((self.config.table_store_url, schema), threading.Lock())
        with lock:
            yield

    def prepare_stage(self, stage: str) -> None:
        """Create the stage's data schema so tasks can write into it."""
        self._require_open()
        self.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(self.data_schema(stage))}")

    def add_keys(self, ref: TableRef) -> None:
        """Create the NOT NULL constraints, primary key and indexes a table asked for."""
        target = qualified(ref.schema, ref.physical_name)
        for column in ref.not_null:
            self.execute_sql(f"ALTER TABLE {target} ALTER COLUMN {quote(column)} SET NOT NULL")
        if ref.primary_key:
            cols = ", ".join(quote(c) for c in ref.primary_key)
            self.execute_sql(f"ALTER TABLE {target} ADD PRIMARY KEY ({cols})")
        for i, index in enumerate(ref.indexes):
            cols = ", ".join(quote(c) for c in index)
            self.execute_sql(f"CREATE INDEX {quote(self._index_name(ref.physical_name, i))} ON {target} ({cols})")

    def _index_name(self, physical_name: str, position: int) -> str:
        name = f"{physical_name}_ix{position}"
        if len(name.encode()) <= self.max_identifier_length:
            return name
        # Truncation would give every index of the table the same name: shorten stably instead.
        return f"ix_{digest(name)[:24]}"

    def publish_stage(self, stage: str, run_id: int, records: list[TaskRecord], history: StageHistory) -> bool:
        """Make ``records`` the stage's new published version in one transaction.

        Returns:
            False when nothing changed (the stage is left untouched), True otherwise.
        """
        self._require_open()
        old = history.published_tables()
        new = {ref.name: ref for record in records for ref in record.tables()}
        if history.versions and _contents(history.current) == _contents(records):
            return False
        try:
            self._swap_views(stage, run_id, records, old, new)
        except LockError:
            raise  # the lock is gone: touch nothing more, the next run cleans up
        except StoreError as exc:
            self._drop_unpublished(new.values(), history)
            raise StoreError(
                f"Publishing stage {stage!r} failed, so its last published version stays in place and this "
                f"run's tables of it were dropped: {exc}"
            ) from exc
        history.versions[run_id] = records
        return True

    def _swap_views(
        self, stage: str, run_id: int, records: list[TaskRecord], old: dict[str, TableRef], new: dict[str, TableRef]
    ) -> None:
        """The publish transaction: check the lock, re-point changed views, record the version."""
        schema = self.stage_schema(stage)
        with self.transaction():
            run_publish_checks(self)  # a run that lost its instance lock must not publish
            self.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            for name in old.keys() - new.keys():
                self._drop_view(schema, name)
            for name, ref in new.items():
                if name not in old or old[name].physical_name != ref.physical_name:
                    self._point_view(schema, name, ref)
            self._record_version(stage, run_id, records)

    def _point_view(self, schema: str, name: str, ref: TableRef) -> None:
        """Point view ``schema.name`` at a physical table, replacing it in place (views on it keep working)."""
        self.execute_sql(
            f"CREATE OR REPLACE VIEW {qualified(schema, name)} AS "
            f"SELECT * FROM {qualified(ref.schema, ref.physical_name)}"
        )

    def _drop_view(self, schema: str, name: str) -> None:
        """Drop a view of a table the stage no longer has."""
        self.execute_sql(f"DROP VIEW IF EXISTS {qualified(schema, name)}")

    def _drop_unpublished(self, refs: Iterable[TableRef], history: StageHistory) -> None:
        """After a failed publish: drop the tables this run wrote (no retained version uses them)."""
        kept = history.referenced_tables()
        try:
            self.drop_tables([r for r in refs if not r.external and r.physical_name not in kept])
        except StoreError as exc:  # e.g. inside an outer transaction that already failed
            get_logger().warning("could not drop the tables of an unpublished stage; the next run will", error=str(exc))

    def _record_version(self, stage: str, run_id: int, records: list[TaskRecord]) -> None:
        self.execute(md.stage_versions.insert().values(stage=stage, run_id=run_id, published_at=_now()))
        if records:
            rows = [
                {
                    "task": r.task,
                    "cache_key": r.cache_key,
                    "ingredients": json.dumps(r.ingredients.to_json()),
                    "outputs": json.dumps(r.encoded_outputs()),
                }
                for r in records
            ]
            self.execute(md.insert_task_records(stage, run_id, rows))

    def collect_garbage(self, stage: str, history: StageHistory) -> list[str]:
        """Forget versions beyond ``keep_stage_versions`` and drop tables no kept version uses.

        Also removes leftovers of crashed runs. Returns the dropped physical table names.
        """
        self._require_open()
        keep = sorted(history.versions, reverse=True)[: self.config.keep_stage_versions]
        expired = [v for v in history.versions if v not in keep]
        for version in expired:
            del history.versions[version]
        schema = self.data_schema(stage)
        unused = sorted(self.list_tables(schema) - history.referenced_tables())
        with self.transaction():
            run_publish_checks(self)
            if expired:
                for table in (md.stage_versions, md.task_records):
                    self.execute(table.delete().where(table.c.stage == stage, table.c.run_id.in_(expired)))
            if self.drop_in_publish_transaction:
                self._drop_unused(schema, unused)
        if not self.drop_in_publish_transaction:
            unused = self._drop_unused(schema, unused)
        history.existing_tables -= set(unused)
        return unused

    #: Whether unused tables are dropped in the same transaction that forgets expired versions.
    drop_in_publish_transaction: ClassVar[bool] = True

    def _drop_unused(self, schema: str, names: list[str]) -> list[str]:
        """Drop tables no retained version uses; return those actually dropped (a backend may defer some)."""
        for name in names:
            self.execute_sql(f"DROP TABLE IF EXISTS {qualified(schema, name)}")
        return names

    def drop_tables(self, refs: Sequence[TableRef]) -> None:
        """Drop physical tables of an unpublished stage (after a failure)."""
        self._require_open()
        with self.transaction():
            for ref in refs:
                self.execute_sql(f"DROP TABLE IF EXISTS {qualified(ref.schema, ref.physical_name)}")


_SCRIPT_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_SCRIPT_LOCKS_GUARD = threading.Lock()


def _contents(records: list[TaskRecord]) -> dict[str, tuple[str, str]]:
    """Each task's cache key and whole recorded output (tables, blobs and plain values alike).

    Comparing keys and tables alone would keep a stage "unchanged" when an unversioned task
    returned a new plain value, and a later run of the next stage alone would read the old one.
    """
    return {r.task: (r.cache_key, json.dumps(r.encoded_outputs(), sort_keys=True)) for r in records}


def error_chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def wrap_driver_error(action: str, exc: Exception) -> StoreError:
    """A StoreError naming what pipedag tried to do, chained to the driver's exception."""
    error = StoreError(f"{action} failed: {exc}")
    error.__cause__ = exc
    return error
