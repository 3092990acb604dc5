"""Counting the statements of SQL text without a parser: quotes, comments and ``$tag$`` bodies respected."""

from __future__ import annotations

import re

from pipedag.errors import TaskError

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]*\$")


def statements(sql: str) -> list[str]:
    """Split ``sql`` at the semicolons that end statements; empty statements are left out.

    Semicolons inside ``'strings'``, ``"identifiers"``, ``-- comments``, ``/* comments */`` and
    PostgreSQL ``$tag$ bodies $tag$`` do not split.
    """
    parts: list[str] = []
    start = i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"":
            i = _end_of(sql, char, i + 1)
        elif sql.startswith("--", i):
            i = _end_of(sql, "\n", i + 2)
        elif sql.startswith("/*", i):
            i = _end_of(sql, "*/", i + 2)
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            i = _end_of(sql, tag.group(0), tag.end())
        elif char == ";":
            parts.append(sql[start:i])
            start = i = i + 1
        else:
            i += 1
    parts.append(sql[start:])
    return [p for p in parts if _code(p)]


def _end_of(sql: str, closer: str, start: int) -> int:
    """Index just past ``closer`` (doubled quotes escape themselves), or the end of the text."""
    end = sql.find(closer, start)
    return len(sql) if end < 0 else end + len(closer)


def _code(part: str) -> bool:
    """Whether ``part`` holds more than whitespace and comments."""
    without = re.sub(r"--[^\n]*|/\*.*?\*/", "", part, flags=re.DOTALL)
    return bool(without.strip())


def check_single_statement(sql: str) -> None:
    """Refuse SQL text holding several statements: a lazy task renders exactly one query.

    Raises:
        TaskError: naming the count and the fix (``RawSql`` for scripts).
    """
    found = statements(sql)
    if len(found) > 1:
        second = " ".join(found[1].split())[:60]
        raise TaskError(
            f"SQL text of a task holds {len(found)} statements (the second: {second!r}); a task's query must be "
            "exactly one SELECT. Return a RawSql for a multi-statement script."
        )
