"""Let explorative SQL name stages by their plain names (``features.summary``).

An instance's stage schemas carry its ``schema_prefix``/``schema_suffix``; this rewrites a
stage name used as a schema qualifier into the real schema, leaving string literals, comments
and every other identifier alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipedag.store.identifiers import quote

_TOKEN = re.compile(
    r"""
      (?P<string>'(?:[^']|'')*')
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<bare>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def qualify_stage_names(sql: str, schemas: Mapping[str, str]) -> str:
    """Replace stage names used as schema qualifiers (``stage.``) by their quoted schema names.

    Args:
        sql: The user's query.
        schemas: Stage name -> schema name of this instance.

    Returns:
        The query with ``stage.table`` turned into ``"<prefix>stage<suffix>".table``.
    """
    tokens = [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(sql)]
    out: list[str] = []
    for i, (kind, text) in enumerate(tokens):
        name = text.lower() if kind == "bare" else text[1:-1].replace('""', '"') if kind == "quoted" else ""
        if name in schemas and _next_is_dot(tokens, i) and not _previous_is_dot(tokens, i):
            out.append(quote(schemas[name]))
        else:
            out.append(text)
    return "".join(out)


def _next_is_dot(tokens: list[tuple[str, str]], i: int) -> bool:
    for _, text in tokens[i + 1 :]:
        if not text.isspace():
            return text == "."
    return False


def _previous_is_dot(tokens: list[tuple[str, str]], i: int) -> bool:
    for _, text in reversed(tokens[:i]):
        if not text.isspace():
            return text == "."
    return False
