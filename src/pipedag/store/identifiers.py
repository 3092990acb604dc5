"""Quoting of SQL identifiers (kept free of heavy imports: ``pipedag.ref`` needs it)."""

from __future__ import annotations


def quote(identifier: str) -> str:
    """Quote a SQL identifier (always, so that no name is ever folded or misread)."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``."""
    return f"{quote(schema)}.{quote(name)}"
