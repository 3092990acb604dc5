"""Validation of the names users give to flows, stages, tasks and tables."""

from __future__ import annotations

import re

from pipedag.errors import WiringError

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
RESERVED_MARKER = "__pipedag"
MAX_NAME_LENGTH = 48  # leaves room for the physical-name suffix within PostgreSQL's 63 bytes


def check_name(kind: str, name: object) -> str:
    """Return ``name`` lower-cased if it is a valid stage/table name, else raise.

    Names are lower-cased because DuckDB folds unquoted identifiers and PostgreSQL folds them
    to lower case too: ``SELECT * FROM features.Summary`` must find table ``Summary``.

    Raises:
        WiringError: when the name is not a string, too long, or not an identifier.
    """
    if not isinstance(name, str):
        raise WiringError(f"{kind} name must be a string, got {type(name).__name__}: {name!r}.")
    lowered = name.lower()
    if not _IDENTIFIER.match(lowered):
        raise WiringError(
            f"Invalid {kind} name {name!r}: use letters, digits and underscores, "
            "starting with a letter or underscore (it becomes a SQL identifier)."
        )
    if RESERVED_MARKER in lowered:
        raise WiringError(f"Invalid {kind} name {name!r}: {RESERVED_MARKER!r} is reserved for pipedag.")
    if len(lowered) > MAX_NAME_LENGTH:
        raise WiringError(
            f"{kind.capitalize()} name {name!r} has {len(lowered)} characters; the limit is "
            f"{MAX_NAME_LENGTH} so that every database can hold it unshortened. Pick a shorter name."
        )
    return lowered
