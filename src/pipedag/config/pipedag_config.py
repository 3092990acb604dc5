"""``PipedagConfig``: pipeline instances described in one pipedag.yaml (or a dict)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipedag.config.context import CacheValidation, ConfigContext
from pipedag.errors import ConfigError

CONFIG_FILE_NAMES = ("pipedag.yaml", "pipedag.yml")


def find_config_file(start: Path | None = None) -> Path | None:
    """Locate pipedag.yaml via ``$PIPEDAG_CONFIG`` (file or folder), else the folder and its parents."""
    env = os.environ.get("PIPEDAG_CONFIG")
    if env:
        path = Path(env)
        if path.is_dir():
            for name in CONFIG_FILE_NAMES:
                if (path / name).is_file():
                    return path / name
            raise ConfigError(f"$PIPEDAG_CONFIG points to folder {path} which has no pipedag.yaml.")
        if not path.is_file():
            raise ConfigError(f"$PIPEDAG_CONFIG points to {path}, which does not exist.")
        return path
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILE_NAMES:
            if (candidate / name).is_file():
                return candidate / name
    return None


class PipedagConfig:
    """Pipeline instances loaded from a mapping (the parsed pipedag.yaml).

    This first version understands a single-level ``instances`` mapping whose entries carry
    ``instance_id`` and ``table_store.args.url``; inheritance and validation grow with the
    instances feature.
    """

    def __init__(self, source: Mapping[str, Any] | str | Path) -> None:
        if isinstance(source, str | Path):
            import yaml

            with open(source) as f:
                source = yaml.safe_load(f) or {}
        self.raw: Mapping[str, Any] = source
        self.name: str = str(source.get("name", "pipeline"))

    default: _DefaultConfig

    def get(self, instance: str | None = None, per_user: bool = False) -> ConfigContext:
        """The ConfigContext of ``instance`` (the first instance when omitted)."""
        instances: Mapping[str, Any] = self.raw.get("instances", {})
        names = [n for n in instances if n != "__any__"]
        if instance is None:
            if not names:
                raise ConfigError("pipedag.yaml defines no instances.")
            instance = names[0]
        if instance not in names:
            raise ConfigError(f"Unknown instance {instance!r} in pipedag.yaml. Known: {', '.join(names)}.")
        block = {**instances.get("__any__", {}), **instances[instance]}
        store = block.get("table_store", {})
        args = store.get("args", {})
        return ConfigContext(
            pipeline_name=self.name,
            instance_name=instance,
            instance_id=str(block.get("instance_id", instance)),
            table_store_url=args["url"],
            schema_prefix=args.get("schema_prefix", ""),
            schema_suffix=args.get("schema_suffix", ""),
            attrs=block.get("attrs", {}),
            fail_fast=bool(block.get("fail_fast", False)),
            tags=_tags(block.get("tags", ()), instance),
            default_version=block.get("default_version"),
            cache_validation=_cache_validation(block.get("cache_validation", {}), instance),
            blob_store_args=block.get("blob_store", {}).get("args", {}),
        )


def _tags(value: Any, instance: str) -> tuple[str, ...]:
    """``instances.<name>.tags``: a list of strings (each usable as a pytest mark name)."""
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise ConfigError(
            f"instances.{instance}.tags in pipedag.yaml must be a list of strings such as [slow], got {value!r}."
        )
    return tuple(value)


def _cache_validation(raw: Any, instance: str) -> CacheValidation:
    """The ``cache_validation`` block of an instance, with the YAML path in errors."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"instances.{instance}.cache_validation must be a mapping, got {raw!r}.")
    known = {"mode", "disable_cache_function", "ignore_task_version"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"instances.{instance}.cache_validation: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}."
        )
    try:
        return CacheValidation(**raw)
    except ConfigError as exc:
        raise ConfigError(f"instances.{instance}.cache_validation.mode: {exc}") from None


class _DefaultConfig:
    """``PipedagConfig.default``: the pipedag.yaml found from the current folder, loaded on access."""

    def __get__(self, instance: object, owner: type[PipedagConfig]) -> PipedagConfig:
        path = find_config_file()
        if path is None:
            raise ConfigError("No pipedag.yaml found in the current folder or its parents; set $PIPEDAG_CONFIG.")
        return owner(path)


PipedagConfig.default = _DefaultConfig()


def create_basic_pipedag_config(
    url: str,
    *,
    name: str = "pipeline",
    instance: str = "default",
    schema_prefix: str = "",
    schema_suffix: str = "",
    fail_fast: bool = False,
    attrs: Mapping[str, Any] | None = None,
) -> PipedagConfig:
    """Build a one-instance config from a database URL, without any pipedag.yaml.

    Args:
        url: ``duckdb:///path/to/file.duckdb`` or ``postgresql://user@host:port/db``.
        name: Pipeline name.
        instance: Instance name (also its ``instance_id``).
        schema_prefix: Prepended to stage names to form schemas.
        schema_suffix: Appended to stage names to form schemas.
        fail_fast: Stop and raise at the first failing task.
        attrs: Free-form settings handed to flow code.

    Returns:
        A PipedagConfig; call ``.get()`` for its ConfigContext.
    """
    return PipedagConfig(
        {
            "name": name,
            "instances": {
                instance: {
                    "instance_id": instance,
                    "fail_fast": fail_fast,
                    "attrs": dict(attrs or {}),
                    "table_store": {
                        "args": {"url": url, "schema_prefix": schema_prefix, "schema_suffix": schema_suffix}
                    },
                }
            },
        }
    )
