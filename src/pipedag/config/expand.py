"""Placeholders in pipedag.yaml values: ``{$ENV_VAR}``, ``{instance_id}``, ``{name}``, ``{username}``.

Further placeholders come from a ``url_attrs_file`` (a YAML mapping kept out of the main file,
e.g. for a password). Expansion applies to every string under ``table_store.args``,
``blob_store.args`` and ``lock_manager.args`` (URLs, schema prefixes/suffixes, file paths).
A literal brace is written doubled: ``{{`` and ``}}``.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipedag.config.schema import did_you_mean
from pipedag.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def username() -> str:
    """The user running pipedag, for per-user instances, as a lower-case SQL-friendly word.

    Taken from ``$LOGNAME`` / ``$USER`` / ``$USERNAME`` / the OS account. Characters other than
    letters, digits and ``_`` become ``_`` (``John.Doe`` -> ``john_doe``) so that schema names
    built from it need no quoting in explorative SQL.
    """
    try:
        name = getpass.getuser()
    except (KeyError, OSError) as exc:
        raise ConfigError("Cannot determine the user name for {username}; set $USER.") from exc
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def expand(text: str, values: Mapping[str, str], path: str) -> str:
    """Replace placeholders in ``text``.

    Raises:
        ConfigError: naming ``path`` for a missing environment variable, an unknown placeholder
            or a brace that opens or closes none.
    """

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if token in ("{", "}"):
            raise ConfigError(
                f"{path} is {text!r}, whose {token!r} at position {match.start()} opens or closes no placeholder. "
                "Close the placeholder ({instance_id}) or write a literal brace doubled ({{ or }})."
            )
        name = match.group(1).strip()
        if name.startswith("$"):
            variable = name[1:]
            if variable not in os.environ:
                raise ConfigError(
                    f"{path} uses {{${variable}}} but environment variable {variable} is not set. "
                    f"Set it (export {variable}=...) or remove the placeholder."
                )
            return os.environ[variable]
        if name not in values:
            raise ConfigError(
                f"{path} uses unknown placeholder {{{name}}}.{did_you_mean(name, values)} "
                f"Known: {', '.join('{' + k + '}' for k in sorted(values))}, {{$ENV_VAR}}; "
                "more can come from table_store.args.url_attrs_file."
            )
        return values[name]

    return _PLACEHOLDER.sub(substitute, text)


def expand_tree(value: Any, values: Mapping[str, str], path: str) -> Any:
    """Expand every string inside nested mappings and lists."""
    if isinstance(value, str):
        return expand(value, values, path)
    if isinstance(value, dict):
        return {k: expand_tree(v, values, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand_tree(v, values, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def load_url_attrs(file: str, base_dir: Path, path: str) -> dict[str, str]:
    """Read a ``url_attrs_file``: a YAML mapping of extra placeholder values.

    Raises:
        ConfigError: naming ``path`` when the file is missing or not a flat mapping.
    """
    import yaml

    location = Path(file).expanduser()
    if not location.is_absolute():
        location = base_dir / location
    if not location.is_file():
        raise ConfigError(f"{path}: url_attrs_file {str(location)!r} does not exist. Create it or fix the path.")
    with open(location) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict) or any(isinstance(v, dict | list) for v in data.values()):
        raise ConfigError(f"{path}: url_attrs_file {str(location)!r} must be a flat YAML mapping of name: value.")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}
