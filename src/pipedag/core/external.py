"""``ExternalTableReference``: an existing table or view used as an input without copying."""

from __future__ import annotations

from dataclasses import dataclass

from pipedag.cache.hashing import stable_hash


@dataclass(frozen=True)
class ExternalTableReference:
    """Point at a table pipedag did not write, in any schema of the table store's database.

    Return it from a task (bare or in ``Table(..., name=...)``); downstream tasks read it like
    any table and the stage gets a view onto it. Nothing is copied, so pipedag cannot see when
    its content changes: give the producing task a ``cache=`` function that returns something
    that changes with the data (a load timestamp, a row count, a file's mtime). Downstream tasks
    rerun exactly when that value changes.

    Args:
        name: Table or view name in the database.
        schema: Schema it lives in.
    """

    name: str
    schema: str

    def identity(self) -> str:
        """Identity of the reference itself (the data's freshness comes from the cache function)."""
        return stable_hash(["external", self.schema, self.name])
