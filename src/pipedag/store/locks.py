"""Instance locks: two runs of the same pipeline instance never interleave.

A lock covers what an instance writes: its database plus schema prefix/suffix. Instances with
distinct schemas (or databases, or DuckDB files) lock independently.

* PostgreSQL: a session-level advisory lock, held on a dedicated connection for the run.
  The server releases it when that connection dies, so a crashed run never leaves it behind.
* DuckDB: an exclusive ``flock`` on a lock file next to the database file (the OS releases it
  when the process dies). DuckDB's own file lock would make a second process fail at once;
  this lock makes it wait instead.

A run that finds the lock taken logs one line and waits up to ``lock_manager.args.timeout``
seconds, then fails with :class:`~pipedag.errors.LockError`. Inside a :class:`StageLockContext`
the lock is kept after the run until the block ends, so ``result.get`` reads exactly what the
run produced.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import xxhash

from pipedag.errors import ConfigError, LockError, StateError
from pipedag.log import get_logger

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore

#: Seconds between two attempts to take a lock somebody else holds.
POLL_SECONDS = 0.1


class InstanceLock(ABC):
    """An exclusive lock on one instance's data.

    Args:
        config: The instance.
    """

    def __init__(self, config: ConfigContext) -> None:
        self.config = config
        self.held = False

    @property
    def identity(self) -> str:
        """What the lock protects: the database (not its URL's spelling) plus schema prefix and suffix."""
        c = self.config
        return f"{database_identity(c.table_store_url)}|{c.schema_prefix}|{c.schema_suffix}"

    @abstractmethod
    def _try_acquire(self) -> bool:
        """Take the lock if it is free; never block."""

    @abstractmethod
    def _release(self) -> None:
        """Give the lock back."""

    def holder(self) -> str:
        """Who holds the lock, for the waiting log line (best effort)."""
        return "another run"

    def acquire(self) -> None:
        """Take the lock, waiting up to the instance's ``lock_timeout``.

        Raises:
            LockError: when the lock stays taken longer than the timeout.
            StateError: when this object already holds it.
        """
        if self.held:
            raise StateError(f"The lock of instance {self.config.instance_name!r} is already held by this run.")
        timeout = self.config.lock_timeout
        start = time.monotonic()
        logged = False
        while not self._try_acquire():
            waited = time.monotonic() - start
            if timeout is not None and waited >= timeout:
                self._close()
                raise LockError(
                    f"Instance {self.config.instance_name!r} (id {self.config.instance_id!r}) is locked by "
                    f"{self.holder()}; gave up after {waited:.1f} s. Wait for that run to finish or raise "
                    "lock_manager.args.timeout in pipedag.yaml (null waits forever)."
                )
            if not logged:
                get_logger().info(
                    "waiting for another run of this instance",
                    instance=self.config.instance_name,
                    holder=self.holder(),
                    timeout_s=timeout,
                )
                logged = True
            time.sleep(POLL_SECONDS)
        self.held = True
        if logged:
            waited = round(time.monotonic() - start, 1)
            get_logger().info("lock acquired", instance=self.config.instance_name, waited_s=waited)

    def release(self) -> None:
        """Give the lock back (no-op when not held)."""
        if self.held:
            self.held = False
            self._release()

    def _close(self) -> None:  # noqa: B027 - most locks open nothing to free
        """Free what an attempt to take the lock opened (after giving up)."""

    def verify(self, store: SQLTableStore) -> None:  # noqa: B027 - file locks die only with the process
        """Fail unless this lock is still held; called inside the publish transaction on ``store``.

        Raises:
            LockError: when the lock was lost since it was taken.
        """


class NoLock(InstanceLock):
    """``lock_manager.class: none``: the user guarantees runs never overlap."""

    def _try_acquire(self) -> bool:
        return True

    def _release(self) -> None:
        pass


class FileLock(InstanceLock):
    """An exclusive ``flock`` on ``<duckdb file>.lock`` (or ``<lock_dir>/<instance_id>.<hash>.lock``)."""

    def __init__(self, config: ConfigContext) -> None:
        super().__init__(config)
        self.path = self._lock_path()
        self._fd: int | None = None

    @property
    def identity(self) -> str:
        """A DuckDB file admits one writing process at a time, so its lock covers the whole file."""
        if self.config.table_store_url.startswith("duckdb:"):
            return database_identity(self.config.table_store_url)
        return super().identity

    def _lock_path(self) -> Path:
        if self.config.lock_dir:
            tag = xxhash.xxh3_64_hexdigest(self.identity.encode())[:12]
            return Path(self.config.lock_dir) / f"{self.config.instance_id}.{tag}.lock"
        if self.config.table_store_url.startswith("duckdb:"):
            from pipedag.store.duckdb import database_path

            db = database_path(self.config.table_store_url)
            return db.parent / f"{db.name}.lock"
        raise ConfigError(
            f"Instance {self.config.instance_name!r}: lock_manager.class 'file' needs lock_manager.args.lock_dir "
            "for a non-DuckDB table store."
        )

    def _try_acquire(self) -> bool:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _release(self) -> None:
        import fcntl

        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def holder(self) -> str:
        """The pid written into the lock file by the holder."""
        try:
            return f"{self.path.read_text().strip() or 'another process'} (lock file {self.path})"
        except OSError:
            return f"another process (lock file {self.path})"


class PostgresAdvisoryLock(InstanceLock):
    """A session-level ``pg_advisory_lock`` on a 64-bit hash of the instance's schema prefix and suffix.

    Advisory locks are scoped to a database, so the database itself needs no part in the key.
    The lock lives on a dedicated connection; if that connection dies (idle timeout, a pooler,
    a firewall) the server releases the lock. :meth:`verify` therefore checks, inside every
    publish transaction, that the lock's backend still holds it, after taking a transaction
    lock that serializes all publishes of the instance: a run that lost its lock never publishes.
    """

    def __init__(self, config: ConfigContext) -> None:
        super().__init__(config)
        from pipedag.store.postgres import libpq_url

        self.url = libpq_url(config.table_store_url)
        tag = f"pipedag|{config.schema_prefix}|{config.schema_suffix}".encode()
        self.key = xxhash.xxh3_64_intdigest(tag) - 2**63  # signed, because pg_advisory_lock takes a bigint
        self._halves = _halves(self.key)  # how pg_locks shows the key: two unsigned halves (classid, objid)
        self._con: Any = None
        self._pid: int | None = None

    def _connection(self) -> Any:
        if self._con is None:
            import psycopg

            from pipedag.store.postgres import connect_error, ensure_database

            if self.config.table_store_args.get("create_database_if_not_exists"):
                ensure_database(self.url)  # advisory locks live inside a database
            try:
                self._con = psycopg.connect(self.url, autocommit=True)
            except psycopg.Error as exc:
                raise connect_error(self.url, exc, "to take the instance lock") from exc
        return self._con

    def _try_acquire(self) -> bool:
        import psycopg

        try:
            row = self._connection().execute(
                "SELECT pg_try_advisory_lock(%s), pg_backend_pid()", [self.key]
            ).fetchone()
        except psycopg.Error as exc:
            self._close()
            raise LockError(f"Taking the lock of instance {self.config.instance_name!r} failed: {exc}") from exc
        if row and row[0]:
            self._pid = int(row[1])
            return True
        return False

    def _release(self) -> None:
        import psycopg

        try:
            self._connection().execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except psycopg.Error:
            pass  # the connection died, and the server released the lock with it
        finally:
            self._close()

    def _close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def verify(self, store: SQLTableStore) -> None:
        """Serialize publishes of the instance, then check that the lock's backend still holds the lock.

        Raises:
            LockError: naming the instance when the lock's connection was lost.
        """
        classid, objid = self._halves
        # The two-int form lives in another key space than the session lock's bigint form.
        store.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", [_int4(classid), _int4(objid)])
        rows = store.execute_sql(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = %s "
            "AND classid = %s AND objid = %s AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            [self._pid, classid, objid],
        )
        if not rows:
            raise LockError(
                f"Run lost the lock of instance {self.config.instance_name!r}: its PostgreSQL connection "
                f"(backend pid {self._pid}) was closed (idle timeout, a connection pooler, a firewall or "
                "pg_terminate_backend), so another run may have started. Nothing more is published by this "
                "run; rerun the flow (and keep idle connections alive on the way to the server)."
            )

    def holder(self) -> str:
        """The backend pid holding the advisory lock."""
        classid, objid = self._halves
        row = self._connection().execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid = %s AND objid = %s LIMIT 1",
            [classid, objid],
        ).fetchone()
        return f"PostgreSQL backend pid {row[0]}" if row else "another run"


def _halves(key: int) -> tuple[int, int]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def _int4(value: int) -> int:
    """An unsigned 32-bit half as PostgreSQL's signed int4."""
    return value - 2**32 if value >= 2**31 else value


def database_identity(url: str) -> str:
    """The database a URL reaches, independent of how the URL is spelled.

    ``postgresql://`` and ``postgresql+psycopg://`` for the same host, port and database give
    the same identity, as do an omitted and an explicit default port.
    """
    if url.startswith("duckdb:"):
        from pipedag.store.duckdb import database_path

        return f"duckdb:{database_path(url).resolve()}"
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme in ("postgresql", "postgres"):
        host = (parts.hostname or os.environ.get("PGHOST") or "localhost").lower()
        port = parts.port or int(os.environ.get("PGPORT") or 5432)
        database = parts.path.lstrip("/") or parts.username or ""
        return f"postgresql://{host}:{port}/{database}"
    return url


#: The locks the current run holds. A context variable rather than a global, so that
#: two runs in one process (threads) each check their own lock, and worker threads started with
#: the run's context see it.
_run_locks: ContextVar[tuple[InstanceLock, ...]] = ContextVar("pipedag_run_locks", default=())


def verify_lock(store: SQLTableStore) -> None:
    """Inside a publish transaction: fail with LockError if the current run lost the lock covering ``store``.

    A store used outside :func:`instance_lock` (no lock is held for it) is not checked.
    """
    identity = create_lock(store.config).identity
    held = [lock for lock in _run_locks.get() if lock.identity == identity]
    if held:
        held[-1].verify(store)  # the innermost run's lock


@contextmanager
def _current(lock: InstanceLock) -> Iterator[None]:
    token = _run_locks.set((*_run_locks.get(), lock))
    try:
        yield
    finally:
        _run_locks.reset(token)


def create_lock(config: ConfigContext) -> InstanceLock:
    """The lock an instance's ``lock_manager`` asks for (``auto`` follows the table store)."""
    kind = config.lock_manager
    if kind == "auto":
        from pipedag.store.registry import store_name_for

        kind = "database" if store_name_for(config) == "postgresql" else "file"
    if kind == "none":
        return NoLock(config)
    if kind == "file":
        return FileLock(config)
    if kind == "database":
        from pipedag.store.registry import store_name_for

        if store_name_for(config) != "postgresql":
            raise ConfigError(
                f"Instance {config.instance_name!r}: lock_manager.class 'database' needs PostgreSQL; "
                "use 'file' (or 'auto') for DuckDB."
            )
        return PostgresAdvisoryLock(config)
    raise ConfigError(f"Unknown lock_manager class {kind!r}; use auto, database, file or none.")


_stage_lock_context: ContextVar[StageLockContext | None] = ContextVar("pipedag_stage_lock", default=None)


class StageLockContext:
    """Keep the locks of the runs inside the block until the block ends.

    Without it a run releases its instance lock when it finishes, and another run may replace
    the stages before ``result.get`` reads them. Inside it::

        with StageLockContext():
            result = flow.run(config=cfg)
            df = result.get(out)  # nobody can have replaced the stage in between
    """

    def __init__(self) -> None:
        self._locks: dict[str, InstanceLock] = {}
        self._token: Token[StageLockContext | None] | None = None

    def __enter__(self) -> StageLockContext:
        if self._token is not None:
            raise StateError("This StageLockContext is already active; create a new one.")
        self._token = _stage_lock_context.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._token is not None
        _stage_lock_context.reset(self._token)
        self._token = None
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()

    @property
    def held(self) -> list[str]:
        """Identities of the instance locks currently kept."""
        return list(self._locks)


@contextmanager
def instance_lock(config: ConfigContext) -> Iterator[None]:
    """Hold the instance's lock for the block (or hand it to the active StageLockContext)."""
    context = _stage_lock_context.get()
    lock = create_lock(config)
    if context is not None and lock.identity in context._locks:
        with _current(context._locks[lock.identity]):  # held by this StageLockContext since an earlier run
            yield
        return
    lock.acquire()
    if context is not None:
        context._locks[lock.identity] = lock
        with _current(lock):
            yield
        return
    try:
        with _current(lock):
            yield
    finally:
        lock.release()
