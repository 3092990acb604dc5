"""The Dask engine: tasks execute on a ``dask.distributed`` cluster; the driver decides and publishes.

Workers receive a pickled :class:`~pipedag.engine.base.Work` item (cloudpickle, so functions
defined in scripts and ``__main__`` travel too), open their own store connection (kept per
worker thread for the following tasks) and send back a TaskRun. Nothing is published on a
worker: a worker that dies mid-task leaves at most an unpublished table, which the retry (or
the next run) drops before writing it again.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from pipedag.errors import ConfigError, TaskError
from pipedag.log import get_logger

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.engine.base import Work
    from pipedag.engine.task_runner import TaskRun
    from pipedag.store.base import SQLTableStore
    from pipedag.store.blob_store import FileBlobStore

_INSTALL = "pip install 'pipedag[dask]'"


class DaskEngine:
    """Runs tasks on a Dask distributed cluster.

    Args:
        address: Scheduler address of a running cluster (``tcp://host:8786``, started with
            ``dask-scheduler`` / ``dask-worker``); None starts a ``LocalCluster`` for the run.
        n_workers: Workers of the local cluster (Dask's default when None).
        processes: Local cluster workers are processes (True) or threads of this process.
        threads_per_worker: Tasks each local worker runs at once.
        retries: How often a task whose worker died is resubmitted (logged) before it fails.
    """

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        processes: bool = True,
        threads_per_worker: int = 1,
        retries: int = 1,
    ) -> None:
        self.address = address
        self.n_workers = n_workers
        self.processes = processes
        self.threads_per_worker = threads_per_worker
        self.retries = retries
        self.capacity = 1
        self._client: Any = None
        self._cluster: Any = None

    def start(self, config: ConfigContext, store: SQLTableStore, blobs: FileBlobStore) -> None:
        """Connect to the cluster (or start a local one) after checking the store allows it.

        Raises:
            ConfigError: when worker processes cannot write the instance's store (a DuckDB
                file), or when dask.distributed is not installed.
        """
        remote = self.address is not None or self.processes
        if remote and not type(store).concurrent_writers:
            raise ConfigError(
                f"DaskEngine with worker processes cannot write instance {config.instance_name!r}: its "
                f"{type(store).name} store ({config.table_store_url}) admits one writing process only. Use "
                "ParallelEngine (threads of this process, e.g. `pipedag run --engine parallel`), "
                "DaskEngine(processes=False), or a PostgreSQL table store."
            )
        try:
            import dask
            import distributed
        except ImportError as exc:
            raise ConfigError(f"DaskEngine needs dask.distributed; run: {_INSTALL}.") from exc
        if self.address is not None:
            self._client = distributed.Client(self.address)  # type: ignore[no-untyped-call]
        else:
            # The driver retries a task whose worker died (logged), rather than the scheduler silently.
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self._cluster = distributed.LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=self.n_workers,
                    threads_per_worker=self.threads_per_worker,
                    processes=self.processes,
                    dashboard_address=None,
                )
            try:
                self._client = distributed.Client(self._cluster)  # type: ignore[no-untyped-call]
            except BaseException:
                self._cluster.close()
                self._cluster = None
                raise
        self.capacity = max(1, sum(self._client.nthreads().values()))

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` of the running engine (e.g. to inspect or restart workers)."""
        return self._client

    def submit(self, work: Work) -> Future[TaskRun]:
        """Send ``work`` to the cluster; the future completes when a worker answered."""
        import cloudpickle

        assert self._client is not None, "start() the engine first"
        outer: Future[TaskRun] = Future()
        self._send(cloudpickle.dumps(work), work, outer, self.retries)
        return outer

    def _send(self, payload: bytes, work: Work, outer: Future[TaskRun], retries: int) -> None:
        remote = self._client.submit(execute_remote, payload, pure=False)
        remote.add_done_callback(lambda done: self._answer(done, payload, work, outer, retries))

    def _answer(self, done: Any, payload: bytes, work: Work, outer: Future[TaskRun], retries: int) -> None:
        from distributed.scheduler import KilledWorker

        try:
            outer.set_result(done.result())
        except KilledWorker:
            label = work.decision.node.label
            if retries > 0:
                get_logger().warning("worker died while running the task; retrying it", task=label)
                self._send(payload, work, outer, retries - 1)
                return
            outer.set_exception(
                TaskError(
                    f"Task {label}: the Dask worker running it died (tried {self.retries + 1} times); nothing "
                    "of it was published. Check the workers' logs and memory limit, then run again."
                )
            )
        except BaseException as exc:  # the task's own error, re-raised on the driver
            outer.set_exception(exc)

    def stop(self) -> None:
        """Close the workers' store connections, then the client and a local cluster."""
        if self._client is None:
            return
        try:
            self._client.run(close_worker_stores)
        finally:
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    def __repr__(self) -> str:
        where = self.address or f"LocalCluster(n_workers={self.n_workers}, processes={self.processes})"
        return f"DaskEngine({where})"


# ----------------------------------------------------------------- on the workers

_stores: dict[tuple[int, str], tuple[SQLTableStore, FileBlobStore]] = {}
_stores_lock = threading.Lock()


def execute_remote(payload: bytes) -> TaskRun:
    """Worker side: unpickle the work, run it on this thread's store connection."""
    import cloudpickle

    work: Work = cloudpickle.loads(payload)
    store, blobs = _worker_store(work.config)
    history = work.history
    # A worker that died before may have left this task's table half-written: see it, so it is replaced.
    history.existing_tables |= store.list_tables(store.data_schema(history.stage))
    return work.execute(store, blobs)


def _worker_store(config: ConfigContext) -> tuple[SQLTableStore, FileBlobStore]:
    from pipedag.store.blob_store import open_blob_store

    where = (config.instance_id, config.table_store_url, config.schema_prefix, config.schema_suffix)
    key = (threading.get_ident(), "|".join(where))
    with _stores_lock:
        if key not in _stores:
            store = config.create_store()
            store.open()
            _stores[key] = (store, open_blob_store(config, store))
        return _stores[key]


def close_worker_stores() -> int:
    """Close every store connection this worker process opened; returns how many."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store, _ in stores:
        store.close()
    return len(stores)
