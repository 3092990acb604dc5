"""``PipedagConfig``: pipeline instances described in one pipedag.yaml (or a dict).

Loading validates the whole file against :mod:`pipedag.config.schema` (so a typo in an
instance you do not run is still reported, with its YAML path); :meth:`PipedagConfig.get`
merges one instance's layers, resolves its connection, expands placeholders and returns an
immutable :class:`~pipedag.config.context.ConfigContext`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipedag.config import schema as sc
from pipedag.config.context import CacheValidation, ConfigContext, Orchestration
from pipedag.config.expand import expand, expand_tree, load_url_attrs, username
from pipedag.errors import ConfigError

CONFIG_FILE_NAMES = ("pipedag.yaml", "pipedag.yml")
ANY = "__any__"
DEFAULT_PER_USER_TEMPLATE = "{id}_{username}"


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


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        with open(path) as f:  # from a file, YAML errors name it
            _check_duplicate_keys(yaml.compose(f, Loader=yaml.SafeLoader), "pipedag.yaml", path)
            f.seek(0)
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"Cannot read pipedag config {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must contain a mapping with keys such as name and instances.")
    return data


def _check_duplicate_keys(node: Any, where: str, path: Path) -> None:
    """Refuse a mapping that repeats a key: YAML parsers silently keep the last one.

    Raises:
        ConfigError: naming the YAML path of the key and both lines.
    """
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in seen:
                raise ConfigError(
                    f"{where}.{name} is given twice in {path} (lines {seen[name]} and {line}); YAML would silently "
                    "keep the last one. Remove one of them."
                )
            seen[name] = line
            _check_duplicate_keys(value, f"{where}.{name}", path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, f"{where}[{i}]", path)


class PipedagConfig:
    """Pipeline instances loaded from pipedag.yaml or an equivalent mapping.

    Args:
        source: Path of a pipedag.yaml, or the parsed mapping itself.

    Raises:
        ConfigError: for any unknown key, wrongly typed value or dangling reference, naming its YAML path.
    """

    default: _DefaultConfig

    def __init__(self, source: Mapping[str, Any] | str | Path) -> None:
        if isinstance(source, str | Path):
            self.path: Path | None = Path(source)
            raw = _load_yaml(self.path)
        else:
            self.path = None
            raw = copy.deepcopy(dict(source))
        self.base_dir = self.path.parent.resolve() if self.path else Path.cwd()
        self.raw: dict[str, Any] = raw
        sc.validate(raw, sc.TOP_LEVEL, "pipedag.yaml")
        self.name: str = str(raw.get("name", "pipeline"))
        self.instances: dict[str, Any] = raw.get("instances") or {}
        self.technical_setups: dict[str, Any] = raw.get("technical_setups") or {}
        self.table_store_connections: dict[str, Any] = raw.get("table_store_connections") or {}
        self.blob_store_connections: dict[str, Any] = raw.get("blob_store_connections") or {}
        self._validate()

    # ----------------------------------------------------------------- checks

    def _validate(self) -> None:
        for name, block in self.instances.items():
            sc.validate(block, sc.INSTANCE, f"instances.{name}")
            _check_tags(block.get("tags", []), f"instances.{name}.tags")
            _check_block(block, f"instances.{name}")
        for name, block in self.technical_setups.items():
            sc.validate(block, sc.INSTANCE, f"technical_setups.{name}")
            _check_block(block, f"technical_setups.{name}")
            if "technical_setup" in block:
                raise ConfigError(f"technical_setups.{name}.technical_setup: a technical setup cannot name another.")
        for name, block in self.table_store_connections.items():
            sc.validate(block, sc.TABLE_STORE_CONNECTION, f"table_store_connections.{name}")
        for name, block in self.blob_store_connections.items():
            sc.validate(block, sc.BLOB_STORE_CONNECTION, f"blob_store_connections.{name}")
        for section in ("instances", "technical_setups"):
            for name, block in getattr(self, section).items():
                self._check_references(block, f"{section}.{name}")

    def _check_references(self, block: Mapping[str, Any], path: str) -> None:
        setup = block.get("technical_setup")
        if setup is not None:
            _require(setup, self.technical_setups, f"{path}.technical_setup", "technical_setups")
        connection = (block.get("table_store") or {}).get("table_store_connection")
        if connection is not None:
            _require(
                connection,
                self.table_store_connections,
                f"{path}.table_store.table_store_connection",
                "table_store_connections",
            )
        blob = (block.get("blob_store") or {}).get("blob_store_connection")
        if blob is not None:
            _require(
                blob, self.blob_store_connections, f"{path}.blob_store.blob_store_connection", "blob_store_connections"
            )

    @property
    def instance_names(self) -> list[str]:
        """The instances one can ``get`` (``__any__`` excluded), in file order."""
        return [n for n in self.instances if n != ANY]

    # -------------------------------------------------------------- resolving

    def get(self, instance: str | None = None, per_user: bool = False) -> ConfigContext:
        """The resolved settings of one instance.

        Args:
            instance: Instance name; defaults to the first instance in the file.
            per_user: Apply the instance's ``per_user_template`` to its ``instance_id`` so that
                each user gets own schemas/databases (use ``{instance_id}`` in them).

        Returns:
            An immutable ConfigContext.

        Raises:
            ConfigError: for an unknown instance, a missing URL or connection, a bad placeholder, or
                another instance that would write the same schemas.
        """
        config = self._resolve(instance, per_user)
        self._check_isolated(config)
        return config

    def _check_isolated(self, config: ConfigContext) -> None:
        """Refuse an instance whose schemas another instance of the file writes too."""
        place = _place(config)
        for other in self.instance_names:
            if other == config.instance_name:
                continue
            try:
                resolved = self._resolve(other, config.per_user)
            except ConfigError:
                continue  # e.g. an environment variable only that instance needs; checked when it is used
            if _place(resolved) == place:
                raise ConfigError(
                    f"Instances {config.instance_name!r} and {other!r} in pipedag.yaml would write the same "
                    f"schemas ({config.table_store_url}, schema_prefix {config.schema_prefix!r}, schema_suffix "
                    f"{config.schema_suffix!r}) and overwrite each other. Give one of them another "
                    "schema_prefix/schema_suffix or database, e.g. schema_prefix: \"{instance_id}_\"."
                )

    def _resolve(self, instance: str | None, per_user: bool) -> ConfigContext:
        names = self.instance_names
        if instance is None:
            if not names:
                raise ConfigError("pipedag.yaml defines no instances; add one under `instances:`.")
            instance = names[0]
        if instance not in names:
            raise ConfigError(
                f"Unknown instance {instance!r} in pipedag.yaml.{sc.did_you_mean(instance, names)} "
                f"Known: {', '.join(names) or '(none)'}."
            )
        block = self._merged(instance)
        path = f"instances.{instance}"
        instance_id = block.get("instance_id", instance)
        if per_user:
            template = block.get("per_user_template", DEFAULT_PER_USER_TEMPLATE)
            instance_id = expand(
                template, {"id": instance_id, "username": username()}, f"{path}.per_user_template"
            )
        store = self._table_store(block, path)
        values = {"instance_id": instance_id, "name": self.name, "username": username()}
        args = dict(store.get("args") or {})
        if "url_attrs_file" in args:
            attrs_file = expand(args.pop("url_attrs_file"), values, f"{path}.table_store.args.url_attrs_file")
            values = {**load_url_attrs(attrs_file, self.base_dir, f"{path}.table_store.args"), **values}
        args = expand_tree(args, values, f"{path}.table_store.args")
        if "url" not in args:
            raise ConfigError(
                f"{path}.table_store.args.url is missing: give a URL such as duckdb:///.pipedag/{{instance_id}}.duckdb "
                "or postgresql://user@host/db, or name a table_store_connection that has one."
            )
        blob = self._blob_store(block, path)
        lock = block.get("lock_manager") or {}
        lock_args = expand_tree(lock.get("args") or {}, values, f"{path}.lock_manager.args")
        cv = block.get("cache_validation") or {}
        store_class = store.get("class") or store.get("type")
        if store_class is not None:
            _check_store_class(store_class, f"{path}.table_store.class")
        return ConfigContext(
            pipeline_name=self.name,
            instance_name=instance,
            instance_id=instance_id,
            table_store_url=args.pop("url"),
            table_store_class=store_class,
            schema_prefix=args.pop("schema_prefix", ""),
            schema_suffix=args.pop("schema_suffix", ""),
            attrs=block.get("attrs") or {},
            fail_fast=block.get("fail_fast", False),
            cache_validation=CacheValidation(**cv),
            keep_stage_versions=block.get("keep_stage_versions", 2),
            table_store_args=args,
            per_user=per_user,
            lock_manager=lock.get("class", "auto"),
            lock_timeout=lock_args.get("timeout", 600.0),
            lock_dir=lock_args.get("lock_dir"),
            stage_commit_technique=block.get("stage_commit_technique", "view_swap"),
            blob_store_class=blob.get("class") or blob.get("type"),
            blob_store_args=expand_tree(blob.get("args") or {}, values, f"{path}.blob_store.args"),
            tags=tuple(block.get("tags") or ()),
            default_version=block.get("default_version"),
            orchestration=Orchestration(**(block.get("orchestration") or {})),
        )

    def _merged(self, instance: str) -> dict[str, Any]:
        """The instance's layers merged by the declared rules (see :mod:`pipedag.config.schema`)."""
        any_block = self.instances.get(ANY) or {}
        own = self.instances[instance]
        setup = own.get("technical_setup", any_block.get("technical_setup"))
        layers = [self.technical_setups.get(ANY) or {}, any_block]
        if setup is not None:
            layers.append(self.technical_setups[setup])
        layers.append(own)
        merged: dict[str, Any] = {}
        for layer in layers:
            merged = sc.merge(merged, layer, sc.INSTANCE)
        return merged

    def _table_store(self, block: Mapping[str, Any], path: str) -> dict[str, Any]:
        store = dict(block.get("table_store") or {})
        connection = store.pop("table_store_connection", None)
        if connection is None:
            return store
        return sc.merge(self.table_store_connections[connection], store, sc.TABLE_STORE_CONNECTION)

    def _blob_store(self, block: Mapping[str, Any], path: str) -> dict[str, Any]:
        blob = dict(block.get("blob_store") or {})
        connection = blob.pop("blob_store_connection", None)
        if connection is None:
            return blob
        return sc.merge(self.blob_store_connections[connection], blob, sc.BLOB_STORE_CONNECTION)


def _place(config: ConfigContext) -> tuple[str, str, str]:
    return config.table_store_url, config.schema_prefix, config.schema_suffix


def _check_tags(tags: list[Any], path: str) -> None:
    if not all(isinstance(tag, str) for tag in tags):
        raise ConfigError(f"{path} in pipedag.yaml must be a list of strings such as [slow], got {tags!r}.")


def _check_block(block: Mapping[str, Any], path: str) -> None:
    """Value checks of an instance or technical setup beyond types: a non-empty id, a usable default version."""
    if block.get("default_version") == "AUTO_VERSION":
        raise ConfigError(
            f"{path}.default_version is AUTO_VERSION, which only applies to polars tasks; give a version string or "
            "CODE_VERSION, and set AUTO_VERSION per task with @materialize(version=AUTO_VERSION)."
        )
    instance_id = block.get("instance_id")
    if instance_id is not None and not instance_id.strip():
        raise ConfigError(
            f"{path}.instance_id is {instance_id!r}; it names the instance's locks, files and run history, "
            "so it must not be empty. Give a name or leave the key out (the instance name is used)."
        )


def _require(name: str, known: Mapping[str, Any], path: str, section: str) -> None:
    if name not in known or name == ANY:
        options = [k for k in known if k != ANY]
        raise ConfigError(
            f"{path} names {name!r}, which is not defined under {section}.{sc.did_you_mean(name, options)} "
            f"Known: {', '.join(options) or '(none)'}."
        )


def _check_store_class(name: str, path: str) -> None:
    from pipedag.store.registry import STORES, canonical_store_name

    if canonical_store_name(name) is None:
        raise ConfigError(
            f"{path} is {name!r}, which is no table store.{sc.did_you_mean(name, STORES)} "
            f"Known: {', '.join(sorted(STORES))} (or leave it out: the URL's scheme decides)."
        )


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
    lock_timeout: float | None = 600.0,
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
        lock_timeout: Seconds a run waits for another run of the same instance (None: forever).

    Returns:
        A PipedagConfig; call ``.get()`` for its ConfigContext.
    """
    # Literal braces in a URL or prefix must survive placeholder expansion.
    def literal(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    return PipedagConfig(
        {
            "name": name,
            "instances": {
                instance: {
                    "instance_id": instance,
                    "fail_fast": fail_fast,
                    "attrs": dict(attrs or {}),
                    "lock_manager": {"args": {"timeout": lock_timeout}},
                    "table_store": {
                        "args": {
                            "url": literal(url),
                            "schema_prefix": literal(schema_prefix),
                            "schema_suffix": literal(schema_suffix),
                        }
                    },
                }
            },
        }
    )
