"""Validation of the names users give to flows, stages, tasks and tables."""

from __future__ import annotations

import re

from pipedag.errors import WiringError

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
RESERVED_MARKER = "__pipedag"
MAX_NAME_LENGTH = 48  # leaves room for the physical-name suffix within PostgreSQL's 63 bytes
#: Part of the metadata schema's name (``<prefix>pipedag_metadata<suffix>``): a stage containing it
#: could be that schema under some prefix or suffix, shared with another instance of the database.
METADATA_MARKER = "pipedag_metadata"
#: Schemas the databases themselves own; a stage of that name would publish its views among the
#: user's or the system's objects, and dropping it would drop theirs.
SYSTEM_SCHEMAS = frozenset({"information_schema", "main", "pg_catalog", "pg_toast", "public", "temp"})


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


def check_stage_name(name: object) -> str:
    """Return ``name`` lower-cased if it is a valid stage name that no pipedag or system schema uses.

    Raises:
        WiringError: for an invalid name (see :func:`check_name`) or one colliding with the
            metadata schema (``pipedag_metadata``) or a database's own schema (``public``, ``main``, ``pg_*``).
    """
    lowered = check_name("stage", name)
    if METADATA_MARKER in lowered:
        raise WiringError(
            f"Invalid stage name {name!r}: stage schemas containing {METADATA_MARKER!r} could collide with "
            "pipedag's metadata schema (<schema_prefix>pipedag_metadata<schema_suffix>). Rename the stage."
        )
    if lowered in SYSTEM_SCHEMAS or lowered.startswith("pg_"):
        raise WiringError(
            f"Invalid stage name {name!r}: {lowered!r} is a schema the database itself uses (or reserves), "
            "and pipedag publishes and drops whole stage schemas. Rename the stage."
        )
    return lowered


def check_flow_name(name: object) -> str:
    """Return ``name`` if it is a valid flow name: any non-empty text usable as a file name.

    Flow names need not be SQL identifiers (no schema is named after a flow), but the
    zero-configuration store is the file ``.pipedag/<flow>.duckdb``.

    Raises:
        WiringError: for a non-string, an empty name, or one with a path separator or control character.
    """
    if not isinstance(name, str):
        raise WiringError(f"flow name must be a string, got {type(name).__name__}: {name!r}.")
    if not name.strip():
        raise WiringError(f"Invalid flow name {name!r}: it must not be empty.")
    if any(c in "/\\" or not c.isprintable() for c in name) or name.strip() in (".", ".."):
        raise WiringError(
            f"Invalid flow name {name!r}: without pipedag.yaml the flow's tables go to the file "
            ".pipedag/<flow name>.duckdb, so the name cannot contain '/', '\\' or control characters."
        )
    return name
