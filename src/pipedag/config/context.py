"""``ConfigContext``: the fully resolved, immutable settings of one pipeline instance."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from pipedag.errors import ConfigError, StateError

if TYPE_CHECKING:
    from pipedag.store.base import SQLTableStore

CACHE_VALIDATION_MODES = (
    "normal",
    "ignore_fresh_input",
    "assert_no_fresh_input",
    "force_fresh_input",
    "force_cache_invalid",
)

ENGINES = ("sequential", "parallel", "dask")

# The stack of active `with cfg:` blocks. A context variable (not a module global) so that
# threads and asyncio tasks each see their own blocks and never reset each other's.
_active: ContextVar[tuple[ConfigContext, ...]] = ContextVar("pipedag_config", default=())


@dataclass(frozen=True)
class CacheValidation:
    """How strictly cached results are trusted.

    Attributes:
        mode: ``normal`` (default); ``force_cache_invalid`` reruns every task. The others concern
            tasks with a ``cache=`` function: ``ignore_fresh_input`` does not call it and keeps
            the stored result, ``force_fresh_input`` reruns those tasks, ``assert_no_fresh_input``
            fails when a cache function's value changed.
        disable_cache_function: Ignore ``cache=`` functions entirely.
        ignore_task_version: Treat versioned tasks as if their version never changed.
    """

    mode: str = "normal"
    disable_cache_function: bool = False
    ignore_task_version: bool = False

    def __post_init__(self) -> None:
        if self.mode not in CACHE_VALIDATION_MODES:
            raise ConfigError(
                f"Unknown cache_validation mode {self.mode!r}; use one of {', '.join(CACHE_VALIDATION_MODES)}."
            )


@dataclass(frozen=True)
class Orchestration:
    """Which engine runs the instance's flows (pipedag.yaml ``orchestration:``).

    Attributes:
        engine: ``sequential`` (default), ``parallel`` (threads) or ``dask`` (a Dask cluster).
        workers: Tasks at once (parallel: threads; dask: workers of a local cluster).
        address: Scheduler address of an existing Dask cluster (``tcp://host:8786``).
    """

    engine: str = "sequential"
    workers: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"Unknown orchestration engine {self.engine!r}; use one of {', '.join(ENGINES)}.")
        if self.workers is not None and (isinstance(self.workers, bool) or self.workers < 1):
            raise ConfigError(f"orchestration.workers must be an integer >= 1, got {self.workers!r}.")


@dataclass(frozen=True)
class ConfigContext:
    """Settings of one pipeline instance. Use it as ``with cfg:`` or ``flow.run(config=cfg)``.

    Attributes:
        pipeline_name: The ``name`` of the pipeline.
        instance_name: Which instance this is (``full``, ``mini``, ...).
        instance_id: Identifies the instance's data; distinct ids never share tables.
        table_store_url: SQLAlchemy-style URL of the database (``duckdb:///path``, ``postgresql://...``).
        table_store_class: Explicit store class name overriding the one implied by the URL.
        schema_prefix: Prepended to every stage name to form its schema.
        schema_suffix: Appended to every stage name to form its schema.
        attrs: Free-form settings handed to flow code (e.g. sample sizes of mini/midi).
        fail_fast: Stop and raise at the first failing task.
        cache_validation: How far cached results are trusted.
        keep_stage_versions: Published versions of each stage kept (tables included) for rollback.
        table_store_args: Backend-specific extra arguments.
        per_user: Whether this is the per-user variant of the instance (``per_user_template`` applied).
        lock_manager: ``auto`` (PostgreSQL advisory lock / file lock next to a DuckDB file),
            ``database``, ``file`` or ``none``: keeps two runs of the instance from interleaving.
        lock_timeout: Seconds a run waits for another run of the instance (None: wait forever).
        lock_dir: Folder of lock files for the ``file`` lock manager (default: next to the DuckDB file).
        stage_commit_technique: How a stage is published; ``view_swap`` (the only one so far).
        blob_store_class: Explicit blob store class, if configured.
        tags: Labels of the instance (``instances.<name>.tags``); the pytest plugin turns
            them into marks, e.g. ``slow`` on the full instance.
        default_version: Version of tasks that set none (and are not lazy), e.g. ``CODE_VERSION``;
            ``None`` keeps the rule that such tasks run every time.
        blob_store_args: Blob store arguments: ``base_path`` is the blob folder; without it blobs
            go next to a DuckDB file (``<file stem>.blobs``) or to ``.pipedag/blobs``.
        orchestration: The engine ``flow.run()`` uses when given none.

    A ConfigContext pickles (its read-only mappings travel as plain dicts), so that
    distributed workers receive the instance they write to.
    """

    pipeline_name: str
    instance_name: str
    instance_id: str
    table_store_url: str
    table_store_class: str | None = None
    schema_prefix: str = ""
    schema_suffix: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    fail_fast: bool = False
    cache_validation: CacheValidation = field(default_factory=CacheValidation)
    keep_stage_versions: int = 2
    table_store_args: Mapping[str, Any] = field(default_factory=dict)
    per_user: bool = False
    lock_manager: str = "auto"
    lock_timeout: float | None = 600.0
    lock_dir: str | None = None
    stage_commit_technique: str = "view_swap"
    blob_store_class: str | None = None
    tags: tuple[str, ...] = ()
    default_version: str | None = None
    blob_store_args: Mapping[str, Any] = field(default_factory=dict)
    orchestration: Orchestration = field(default_factory=Orchestration)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        object.__setattr__(self, "table_store_args", MappingProxyType(dict(self.table_store_args)))
        object.__setattr__(self, "blob_store_args", MappingProxyType(dict(self.blob_store_args)))
        if self.default_version is not None and (
            not isinstance(self.default_version, str) or self.default_version == "AUTO_VERSION"
        ):
            raise ConfigError(
                f"default_version must be a version string or CODE_VERSION, got {self.default_version!r}; "
                "AUTO_VERSION only applies to polars tasks, set it per task with @materialize(version=AUTO_VERSION)."
            )
        if self.keep_stage_versions < 1:
            raise ConfigError(f"keep_stage_versions must be >= 1, got {self.keep_stage_versions}.")

    def create_store(self) -> SQLTableStore:
        """Instantiate (without connecting) the table store this config describes."""
        from pipedag.store.registry import create_store

        return create_store(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _MAPPINGS:
            state[name] = dict(state[name])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, MappingProxyType(value) if name in _MAPPINGS else value)

    def __enter__(self) -> ConfigContext:
        _active.set((*_active.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack = _active.get()
        if not stack or stack[-1] is not self:
            raise StateError(
                f"`with cfg:` blocks of instance {self.instance_name!r} were exited out of order "
                "(or in another thread than they were entered); nest them properly."
            )
        _active.set(stack[:-1])


_MAPPINGS = ("attrs", "table_store_args", "blob_store_args")


def active_config() -> ConfigContext | None:
    """The ConfigContext of the innermost active ``with cfg:`` block in this thread/context, if any."""
    stack = _active.get()
    return stack[-1] if stack else None


def default_config(flow_name: str) -> ConfigContext:
    """The zero-configuration instance: an embedded DuckDB file ``.pipedag/<flow>.duckdb``."""
    path = Path.cwd() / ".pipedag" / f"{flow_name}.duckdb"
    return ConfigContext(
        pipeline_name=flow_name,
        instance_name="default",
        instance_id=flow_name,
        table_store_url=f"duckdb:///{path}",
    )


def resolve_config(config: ConfigContext | None, flow_name: str) -> ConfigContext:
    """Pick the config a run uses: explicit, else active ``with`` block, else pipedag.yaml, else default."""
    if config is not None:
        if not isinstance(config, ConfigContext):
            raise ConfigError(
                f"flow.run(config=...) expects a ConfigContext, got {type(config).__name__}; "
                "call .get() on a PipedagConfig to obtain one."
            )
        return config
    active = active_config()
    if active is not None:
        return active
    from pipedag.config.pipedag_config import find_config_file

    if find_config_file() is not None:
        from pipedag.config.pipedag_config import PipedagConfig

        return PipedagConfig.default.get()
    return default_config(flow_name)
