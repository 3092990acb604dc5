"""The keys pipedag.yaml understands: their types and how layers of configuration merge.

Every key declares one merge rule, applied when an instance inherits from ``__any__`` and
its technical setup, and when a ``table_store`` inherits from its ``table_store_connection``:

* ``REPLACE``: the later layer's value replaces the earlier one whole (scalars, lists).
* ``MERGE``: a mapping with declared keys; each key merges by its own rule.
* ``DEEP``: a free-form mapping (``attrs``, blob store args) merged key by key, recursively.

Layers, earliest (weakest) first: ``technical_setups.__any__``, ``instances.__any__``,
``technical_setups.<setup>``, ``instances.<instance>``. A technical setup therefore overrides
the defaults of ``__any__`` and the instance overrides both.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipedag.errors import ConfigError


class Merge(enum.Enum):
    """How a key's value in a later layer combines with an earlier one."""

    REPLACE = "replace"
    MERGE = "merge"
    DEEP = "deep"


@dataclass(frozen=True)
class Key:
    """One key of pipedag.yaml.

    Attributes:
        types: Accepted Python types of the parsed YAML value.
        merge: The key's merge rule.
        children: Declared keys of a ``MERGE`` mapping.
        choices: Allowed values of a string key, if restricted.
        minimum: Smallest allowed value of a number key, if bounded.
    """

    types: tuple[type, ...]
    merge: Merge = Merge.REPLACE
    children: Mapping[str, Key] | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None


def _scalar(*types: type, choices: tuple[str, ...] = (), minimum: float | None = None) -> Key:
    return Key(types, Merge.REPLACE, choices=choices, minimum=minimum)


def _block(children: Mapping[str, Key]) -> Key:
    return Key((dict,), Merge.MERGE, children)


_FREE = Key((dict,), Merge.DEEP)
_STR = _scalar(str)
_BOOL = _scalar(bool)

CACHE_MODES = ("normal", "ignore_fresh_input", "assert_no_fresh_input", "force_fresh_input", "force_cache_invalid")
COMMIT_TECHNIQUES = ("view_swap",)
LOCK_MANAGERS = ("auto", "database", "file", "none")
ENGINES = ("sequential", "parallel", "dask")
#: Blob store classes (the file store under its own and pydiverse.pipedag's names).
BLOB_STORES = ("FileBlobStore", "pydiverse.pipedag.backend.blob.FileBlobStore")

TABLE_STORE_ARGS: dict[str, Key] = {
    "url": _STR,
    "url_attrs_file": _STR,
    "schema_prefix": _STR,
    "schema_suffix": _STR,
    "create_database_if_not_exists": _BOOL,
}

TABLE_STORE_CONNECTION: dict[str, Key] = {
    "class": _STR,
    "type": _STR,
    "args": _block(TABLE_STORE_ARGS),
}

_BLOB_CLASS = _scalar(str, choices=BLOB_STORES)
BLOB_STORE_CONNECTION: dict[str, Key] = {"class": _BLOB_CLASS, "type": _BLOB_CLASS, "args": _FREE}

INSTANCE: dict[str, Key] = {
    "instance_id": _STR,
    "per_user_template": _STR,
    "technical_setup": _STR,
    "attrs": _FREE,
    "tags": _scalar(list),
    "fail_fast": _BOOL,
    "keep_stage_versions": _scalar(int, minimum=1),
    "default_version": _STR,
    "stage_commit_technique": _scalar(str, choices=COMMIT_TECHNIQUES),
    "cache_validation": _block(
        {
            "mode": _scalar(str, choices=CACHE_MODES),
            "disable_cache_function": _BOOL,
            "ignore_task_version": _BOOL,
        }
    ),
    "table_store": _block({**TABLE_STORE_CONNECTION, "table_store_connection": _STR}),
    "blob_store": _block({**BLOB_STORE_CONNECTION, "blob_store_connection": _STR}),
    "lock_manager": _block(
        {
            "class": _scalar(str, choices=LOCK_MANAGERS),
            "args": _block({"timeout": _scalar(int, float, type(None), minimum=0), "lock_dir": _STR}),
        }
    ),
    "orchestration": _block(
        {"engine": _scalar(str, choices=ENGINES), "workers": _scalar(int), "address": _STR}
    ),
}

TOP_LEVEL: dict[str, Key] = {
    "name": _STR,
    "table_store_connections": _FREE,
    "blob_store_connections": _FREE,
    "technical_setups": _FREE,
    "instances": _FREE,
}


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def type_names(types: tuple[type, ...]) -> str:
    """Human-readable names of YAML types: ``a string``, ``a mapping``, ..."""
    names = {
        str: "a string", bool: "true/false", int: "an integer", float: "a number", dict: "a mapping", list: "a list"
    }
    return " or ".join(names.get(t, "null" if t is type(None) else t.__name__) for t in types)


def validate(block: Any, keys: Mapping[str, Key], path: str) -> None:
    """Check a mapping against declared keys, recursively.

    Raises:
        ConfigError: naming the YAML path of the first unknown key or wrongly typed value.
    """
    if not isinstance(block, dict):
        raise ConfigError(f"{path} must be a mapping, got {_shown(block)}.")
    for name, value in block.items():
        where = f"{path}.{name}"
        if name not in keys:
            raise ConfigError(
                f"Unknown key {where} in pipedag.yaml.{did_you_mean(str(name), keys)} "
                f"Known keys here: {', '.join(sorted(keys))}."
            )
        check_value(value, keys[name], where)


def check_value(value: Any, key: Key, where: str) -> None:
    """Check one value's type and choices (and its children's).

    Raises:
        ConfigError: naming ``where`` when the value does not fit ``key``.
    """
    # bool is an int to Python, but `keep_stage_versions: true` is a mistake.
    if not isinstance(value, key.types) or (isinstance(value, bool) and bool not in key.types):
        raise ConfigError(f"{where} must be {type_names(key.types)}, got {_shown(value)}.")
    if key.choices and value not in key.choices:
        raise ConfigError(
            f"{where} is {value!r}; allowed: {', '.join(key.choices)}.{did_you_mean(str(value), key.choices)}"
        )
    if key.minimum is not None and isinstance(value, int | float) and value < key.minimum:
        raise ConfigError(f"{where} is {value!r}; it must be at least {key.minimum:g}.")
    if key.children is not None:
        validate(value, key.children, where)


def merge(earlier: Mapping[str, Any], later: Mapping[str, Any], keys: Mapping[str, Key] | None) -> dict[str, Any]:
    """Combine two layers key by key, each by its declared rule (free mappings merge deeply)."""
    result = dict(earlier)
    for name, value in later.items():
        key = keys.get(name) if keys is not None else None
        rule = key.merge if key is not None else (Merge.DEEP if isinstance(value, dict) else Merge.REPLACE)
        old = result.get(name)
        if rule is Merge.REPLACE or not isinstance(old, dict) or not isinstance(value, dict):
            result[name] = value
        else:
            result[name] = merge(old, value, key.children if key is not None and rule is Merge.MERGE else None)
    return result


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
