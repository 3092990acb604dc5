"""The parallel engine: tasks run in a pool of threads of this process, one store connection each.

Threads suit pipedag's work: most of a task's time is spent in the database or in native
code (Arrow, DuckDB, pandas) that releases the GIL. On DuckDB every worker opens its own
connection to the same file, which this process already holds (DuckDB shares one database
instance between a process's connections); on PostgreSQL each worker has its own session.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from pipedag.errors import ConfigError
from pipedag.store.blob_store import open_blob_store

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.engine.base import Work
    from pipedag.engine.task_runner import TaskRun
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore


class ParallelEngine:
    """Runs up to ``workers`` tasks at once in threads of this process.

    Args:
        workers: Number of worker threads (and store connections).

    Raises:
        ConfigError: when ``workers`` is not a positive integer.
    """

    def __init__(self, workers: int = 4) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"ParallelEngine(workers={workers!r}): workers must be an integer >= 1.")
        self.capacity = workers
        self._config: ConfigContext | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._stores: list[SQLTableStore] = []
        self._lock = threading.Lock()

    def start(self, config: ConfigContext, store: SQLTableStore, blobs: FileBlobStore) -> None:
        """Start the thread pool; each thread connects on its first task."""
        self._config = config
        self._pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="pipedag-worker")

    def submit(self, work: Work) -> Future[TaskRun]:
        """Queue ``work`` on the pool, in a copy of the caller's context (its ``with cfg:`` blocks)."""
        assert self._pool is not None, "start() the engine first"
        context = contextvars.copy_context()
        return self._pool.submit(context.run, self._execute, work)

    def _execute(self, work: Work) -> TaskRun:
        store: SQLTableStore | None = getattr(self._local, "store", None)
        if store is None:
            assert self._config is not None
            store = self._config.create_store()
            store.open()
            with self._lock:
                self._stores.append(store)
            self._local.store = store
            self._local.blobs = open_blob_store(self._config, store)
        return work.execute(store, self._local.blobs)

    def stop(self) -> None:
        """Wait for running tasks, then close every worker's connection."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for store in self._stores:
            store.close()
        self._stores.clear()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"ParallelEngine(workers={self.capacity})"
