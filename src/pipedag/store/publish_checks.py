"""Checks a table store runs inside every publish transaction, registered by the layers that need them.

A seam: :mod:`pipedag.store.locks` builds on the store classes, so instead of
:class:`~pipedag.store.base.SQLTableStore` importing it, it registers its check here (that the run
still holds the instance lock). This module imports nothing, so registering costs no start-up time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Each takes the publishing store (a SQLTableStore; not named here, since the store imports this module).
_checks: list[Callable[[Any], None]] = []


def register_publish_check(check: Callable[[Any], None]) -> None:
    """Make every publish call ``check(store)`` inside its transaction (once per registered check)."""
    if check not in _checks:
        _checks.append(check)


def run_publish_checks(store: Any) -> None:
    """Run the registered checks; each raises (e.g. LockError) when the publish must not happen."""
    for check in _checks:
        check(store)
