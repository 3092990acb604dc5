"""Reading a pipedag.yaml written for pydiverse.pipedag.

pydiverse.pipedag's file differs from pipedag's in a few keys: table stores, blob stores, lock
managers and engines are named by Python class paths, and some keys configure parts pipedag
does not have (a network context server, a kroki picture service, SQL echo flags). Each such key
is either *mapped* onto pipedag's own part, *ignored* with one warning naming it (pipedag
behaves the same without it), or *refused* with a :class:`~pipedag.ConfigError` when pipedag
would behave differently and silently accepting it would mislead.

:func:`translate` is applied by :class:`~pipedag.PipedagConfig` to every file it loads, and by
``pipedag port`` to show and write the converted file.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipedag.errors import ConfigError

PEER = "pydiverse.pipedag."


class IgnoredConfigWarning(UserWarning):
    """A pipedag.yaml key written for pydiverse.pipedag that pipedag accepts but does not use."""


@dataclass
class Translation:
    """The outcome of translating one config mapping.

    Attributes:
        config: The mapping in pipedag's own terms.
        ignored: ``(yaml path, reason)`` of each key dropped with a warning.
        mapped: ``(yaml path, what it became)`` of each key rewritten.
    """

    config: dict[str, Any]
    ignored: list[tuple[str, str]] = field(default_factory=list)
    mapped: list[tuple[str, str]] = field(default_factory=list)


# Keys pipedag behaves the same without: the reason goes into the warning.
_IGNORED_INSTANCE_KEYS = {
    "network_interface": "pipedag runs a flow in one process and needs no context server",
    "kroki_url": "pipedag draws flow pictures locally (`pipedag visualize`) and sends nothing to kroki",
    "per_user": "select the per-user variant with PipedagConfig.get(instance, per_user=True)",
    "attrs_per_user": "per-user variants share the instance's attrs",
}
_IGNORED_STORE_ARGS = {
    "print_materialize": "pipedag logs what it materializes at debug level (PIPEDAG_LOG_LEVEL=debug)",
    "print_sql": "pipedag logs its SQL at debug level (PIPEDAG_LOG_LEVEL=debug)",
    "hook_args": "pipedag's table-type hooks take no arguments; pick Arrow dtypes per task with "
    "input_type=(pandas.DataFrame, 'arrow')",
    "avoid_drop_create_schema": "pipedag never drops a schema: it publishes stages by swapping views",
    "max_concurrent_copy_operations": "pipedag never copies cache-valid tables",
    "sqlalchemy_pool_size": "pipedag keeps one connection per run",
    "sqlalchemy_pool_timeout": "pipedag keeps one connection per run",
    "materialization_details": "pipedag writes plain tables on every backend",
    "default_materialization_details": "pipedag writes plain tables on every backend",
    "strict_materialization_details": "pipedag writes plain tables on every backend",
    "disable_arrow_write": "pipedag always writes through Arrow",
}
_AUTO_TABLE_SUPPORTED = {
    "pandas.DataFrame",
    "pandas.core.frame.DataFrame",
    "polars.DataFrame",
    "polars.LazyFrame",
    "pyarrow.Table",
    "sqlalchemy.sql.expression.TextClause",
    "sqlalchemy.sql.expression.Selectable",
    "sqlalchemy.sql.elements.TextClause",
    "sqlalchemy.Select",
}
_TABLE_STORES = {
    "backend.table.SQLTableStore": None,  # the URL's scheme decides, as in pipedag
    "backend.table.sql.SQLTableStore": None,
    "backend.table.sql.dialects.DuckDBTableStore": "duckdb",
    "backend.table.sql.dialects.duckdb.DuckDBTableStore": "duckdb",
    "backend.table.sql.dialects.PostgresTableStore": "postgresql",
    "backend.table.sql.dialects.postgres.PostgresTableStore": "postgresql",
}
_LOCK_MANAGERS = {
    "backend.lock.DatabaseLockManager": "auto",  # database lock on PostgreSQL, a file lock beside a DuckDB file
    "backend.lock.FileLockManager": "file",
    "backend.lock.NoLockManager": "none",
}
_COMMIT_TECHNIQUES = {"schema_swap": "view_swap", "read_views": "view_swap", "view_swap": "view_swap"}


def _peer_path(value: Any) -> str | None:
    """``backend.lock.X`` for a pydiverse.pipedag class path, else None."""
    if isinstance(value, str) and value.startswith(PEER):
        return value[len(PEER):]
    return None


class _Translator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.ignored: list[tuple[str, str]] = []
        self.mapped: list[tuple[str, str]] = []

    def ignore(self, block: dict[str, Any], key: str, path: str, reason: str) -> None:
        block.pop(key)
        self.ignored.append((f"{path}.{key}", reason))

    def refuse(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path}: {message}")

    def top(self, raw: dict[str, Any]) -> None:
        strict = raw.pop("strict_instance_lookup", True)
        if strict is not True:
            raise self.refuse(
                "strict_instance_lookup",
                "pipedag always looks instances up strictly (an unknown instance name is an error, never "
                "a silent fall-back to __any__); remove the key or set it to true.",
            )
        if "flows" in raw:
            raise self.refuse(
                "flows",
                "pipedag configures instances only, not flows; move the settings into instances.<name> "
                "(e.g. one instance per flow and data size).",
            )
        for section in ("instances", "technical_setups"):
            for name, block in (raw.get(section) or {}).items():
                if isinstance(block, dict):
                    self.instance(block, f"{section}.{name}")
        for name, block in (raw.get("table_store_connections") or {}).items():
            if isinstance(block, dict):
                self.table_store(block, f"table_store_connections.{name}")
        for name, block in (raw.get("blob_store_connections") or {}).items():
            if isinstance(block, dict):
                self.blob_store(block, f"blob_store_connections.{name}")

    def instance(self, block: dict[str, Any], path: str) -> None:
        for key, reason in _IGNORED_INSTANCE_KEYS.items():
            if key in block:
                self.ignore(block, key, path, reason)
        if "disable_kroki" in block:
            # pipedag never sends anything to kroki: true is what it does anyway, false asks for something it lacks.
            if block["disable_kroki"] is True:
                block.pop("disable_kroki")
            else:
                self.ignore(block, "disable_kroki", path, "pipedag draws flow pictures locally (`pipedag visualize`)")
        if "auto_table" in block:
            self.auto_table(block, path)
        if "stage_commit_technique" in block:
            self.commit_technique(block, path)
        if isinstance(block.get("cache_validation"), dict):
            mode = block["cache_validation"].get("mode")
            if isinstance(mode, str) and mode != mode.lower():
                block["cache_validation"]["mode"] = mode.lower()
        if isinstance(block.get("table_store"), dict):
            self.table_store(block["table_store"], f"{path}.table_store")
        if isinstance(block.get("blob_store"), dict):
            self.blob_store(block["blob_store"], f"{path}.blob_store")
        if isinstance(block.get("lock_manager"), dict):
            self.lock_manager(block["lock_manager"], f"{path}.lock_manager")
        if "orchestration" in block:
            self.orchestration(block, path)

    def auto_table(self, block: dict[str, Any], path: str) -> None:
        classes = block.pop("auto_table")
        unknown = [c for c in classes or [] if c not in _AUTO_TABLE_SUPPORTED]
        if unknown:
            self.ignored.append(
                (f"{path}.auto_table", f"pipedag cannot store {', '.join(map(str, unknown))} as tables; a task "
                 "returning one fails with a TaskError")
            )
        else:
            self.mapped.append((f"{path}.auto_table", "pipedag always stores frames, Arrow tables and SQL as tables"))

    def commit_technique(self, block: dict[str, Any], path: str) -> None:
        value = str(block["stage_commit_technique"])
        mapped = _COMMIT_TECHNIQUES.get(value.lower())
        if mapped is None:
            raise self.refuse(
                f"{path}.stage_commit_technique",
                f"{value!r} is unknown; pipedag publishes every stage by one atomic view swap (view_swap).",
            )
        block["stage_commit_technique"] = mapped
        if value != mapped:
            self.mapped.append((f"{path}.stage_commit_technique", f"{value} -> {mapped} (one atomic view swap)"))

    def table_store(self, block: dict[str, Any], path: str) -> None:
        peer = _peer_path(block.get("class"))
        if peer is not None:
            if peer not in _TABLE_STORES:
                raise self.refuse(
                    f"{path}.class",
                    f"{block['class']} has no pipedag counterpart; pipedag stores tables in DuckDB or PostgreSQL "
                    "(leave `class` out: the URL's scheme decides).",
                )
            store = _TABLE_STORES[peer]
            if store is None:
                block.pop("class")
            else:
                block["class"] = store
            self.mapped.append((f"{path}.class", f"{PEER}{peer} -> {store or '(chosen by the URL)'}"))
        args = block.get("args")
        if isinstance(args, dict):
            for key, reason in _IGNORED_STORE_ARGS.items():
                if key in args:
                    self.ignore(args, key, f"{path}.args", reason)
        if "local_table_cache" in block:
            self.ignore(block, "local_table_cache", path, "pipedag reads tables from the database through Arrow")

    def blob_store(self, block: dict[str, Any], path: str) -> None:
        peer = _peer_path(block.get("class"))
        if peer is None:
            return
        if peer not in ("backend.blob.FileBlobStore", "backend.blob.file.FileBlobStore"):
            raise self.refuse(
                f"{path}.class", f"{block['class']} has no pipedag counterpart; pipedag stores blobs in files."
            )
        block.pop("class")
        self.mapped.append((f"{path}.class", f"{PEER}{peer} -> pipedag's file blob store"))

    def lock_manager(self, block: dict[str, Any], path: str) -> None:
        peer = _peer_path(block.get("class"))
        if peer is None:
            return
        short = peer.rsplit(".", 1)[-1]
        kind = next((v for k, v in _LOCK_MANAGERS.items() if k.rsplit(".", 1)[-1] == short), None)
        if kind is None:
            raise self.refuse(
                f"{path}.class",
                f"{block['class']} has no pipedag counterpart; use class: database (PostgreSQL advisory lock), "
                "file, none, or auto.",
            )
        block["class"] = kind
        args = block.get("args")
        if isinstance(args, dict) and kind == "file" and "base_path" in args:
            args["lock_dir"] = args.pop("base_path")
        self.mapped.append((f"{path}.class", f"{PEER}{peer} -> {kind}"))

    def orchestration(self, block: dict[str, Any], path: str) -> None:
        engine = block["orchestration"]
        if not isinstance(engine, dict) or "class" not in engine:
            return  # pipedag's own block (engine / workers / address)
        peer = _peer_path(engine["class"]) or str(engine["class"])
        short = peer.rsplit(".", 1)[-1]
        args = engine.get("args") or {}
        if short == "SequentialEngine":
            block["orchestration"] = {"engine": "sequential"}
        elif short == "DaskEngine":
            block["orchestration"] = {"engine": "dask"}
            if isinstance(args, dict) and isinstance(args.get("address"), str):
                block["orchestration"]["address"] = args["address"]
        else:
            block.pop("orchestration")
            self.ignored.append(
                (f"{path}.orchestration", f"pipedag has no {short}; tasks run on the sequential engine, "
                 "results are the same (orchestration.engine: parallel or dask spreads them out)")
            )
            return
        self.mapped.append((f"{path}.orchestration.class", f"{engine['class']} -> {block['orchestration']}"))


def translate(raw: dict[str, Any], source: str = "pipedag.yaml") -> Translation:
    """Rewrite a pydiverse.pipedag-style config mapping into pipedag's keys.

    A mapping already in pipedag's terms comes back unchanged.

    Args:
        raw: The parsed file (not modified).
        source: The file's name, for messages.

    Returns:
        The translated mapping and what was mapped or ignored.

    Raises:
        ConfigError: for a key pipedag cannot honour, naming its YAML path and the fix.
    """
    config = copy.deepcopy(raw)
    translator = _Translator(source)
    translator.top(config)
    return Translation(config, translator.ignored, translator.mapped)


def load(raw: dict[str, Any], source: str, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`translate`, warning once per process about every ignored key."""
    result = translate(raw, source)
    for path, reason in result.ignored:
        if (source, path) in _warned_paths:
            continue
        _warned_paths.add((source, path))
        message = f"{source}: {path} is ignored: {reason}."
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, IgnoredConfigWarning, stacklevel=3)
    return result.config


_warned_paths: set[tuple[str, str]] = set()
