"""Which keys are due, and why: one set-based comparison of the inputs' hashes with the key state.

Reasons, in the order they are decided:

* ``null key``: a key column is NULL (an error: keys must identify rows),
* ``new``: no state for the key (``refresh`` when the task is recomputed from scratch),
* ``deleted``: state but no input rows any more,
* ``version``: the task's version changed and ``on_version_change="rerun"``,
* ``retried`` / ``exhausted``: the key failed before on the same input, with attempts left / not,
* ``changed``: the hash of the key's input rows differs from the last successful one.

A key with none of these is unchanged and does not appear.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipedag.incremental import state as st
from pipedag.incremental.sources import HASH

__all__ = ["HASH", "REASON", "CHUNK", "RUN", "PROCESSED", "REASONS"]
from pipedag.store.identifiers import quote

NEW, CHANGED, DELETED, RETRIED, EXHAUSTED, VERSION, REFRESH, NULL_KEY = (
    "new", "changed", "deleted", "retried", "exhausted", "version", "refresh", "null key",
)
#: Reasons whose keys are handed to the task's function.
PROCESSED = (NEW, CHANGED, RETRIED, VERSION, REFRESH)
#: All reasons in the order ``pipedag plan`` lists them.
REASONS = (NEW, CHANGED, DELETED, RETRIED, VERSION, REFRESH, EXHAUSTED, NULL_KEY)

REASON, CHUNK = "_pd_reason", "_pd_chunk"


RUN = "_pd_run"


def diff_select(
    current: str,
    state: tuple[str, str | None] | None,
    keys: Sequence[str],
    *,
    version_changed: bool,
    max_attempts: int,
    fresh_reason: str = NEW,
) -> str:
    """``SELECT <keys>, _pd_h, _pd_reason`` for every due key.

    Args:
        current: SELECT of the keys the inputs define now, with their hashes (``_pd_h``).
        state: The qualified key-state and failures tables (None for the failures table when it
            is empty), or None to treat every key as ``fresh_reason``.
        keys: The key columns.
        version_changed: Whether every present key is due for a version change.
        max_attempts: Runs that may try a failed key.
        fresh_reason: Reason of keys without state.
    """
    key_list = ", ".join(quote(k) for k in keys)
    null_key = " OR ".join(f"{quote(k)} IS NULL" for k in keys)
    if state is None:
        reason = f"CASE WHEN {null_key} THEN '{NULL_KEY}' ELSE '{fresh_reason}' END"
        return f"SELECT {key_list}, {HASH}, {reason} AS {REASON} FROM ({current}) AS c"
    known, failures = state
    failed_before = f"f.{st.ATTEMPTS} IS NOT NULL AND f.{st.FAILED_HASH} = c.{HASH}"
    if failures is None:  # nothing quarantined: spare the join (a third of a no-failure diff)
        failures = f"(SELECT {key_list}, {HASH} AS {st.FAILED_HASH}, 0 AS {st.ATTEMPTS} FROM {known} WHERE 1 = 0)"
    reason = (
        f"CASE WHEN {null_key} THEN '{NULL_KEY}' "
        f"WHEN c.{HASH} IS NULL THEN '{DELETED}' "
        + (f"WHEN TRUE THEN '{VERSION}' " if version_changed else "")
        + f"WHEN {failed_before} THEN "
        f"CASE WHEN f.{st.ATTEMPTS} < {int(max_attempts)} THEN '{RETRIED}' ELSE '{EXHAUSTED}' END "
        f"WHEN s.{HASH} IS NULL THEN '{fresh_reason}' "
        f"WHEN s.{HASH} <> c.{HASH} THEN '{CHANGED}' END"
    )
    inner = (
        f"SELECT {key_list}, c.{HASH} AS {HASH}, {reason} AS {REASON} "
        f"FROM ({current}) AS c FULL JOIN {known} AS s USING ({key_list}) FULL JOIN {failures} AS f USING ({key_list})"
    )
    return f"SELECT * FROM ({inner}) AS d WHERE {REASON} IS NOT NULL"


def due_select(diff: str, chunk_size: int, run_id: int) -> str:
    """The due keys with ``_pd_chunk`` (at most ``chunk_size`` keys each) and ``_pd_run``.

    Chunks are numbered without sorting (sorting a million keys costs more than the rest of a
    small run); a chunk holds at most ``chunk_size`` keys to process, fewer when deleted keys
    share its numbers.
    """
    number = "ROW_NUMBER() OVER ()"
    chunk = f"CAST(FLOOR(({number} - 1) / CAST({int(chunk_size)} AS DOUBLE PRECISION)) AS BIGINT)"
    return f"SELECT d.*, {chunk} AS {CHUNK}, CAST({int(run_id)} AS BIGINT) AS {RUN} FROM ({diff}) AS d"


def counts_select(diff: str) -> str:
    """``SELECT _pd_reason, count(*)`` over the due keys (what ``pipedag plan`` shows)."""
    return f"SELECT {REASON}, COUNT(*) FROM ({diff}) AS d GROUP BY {REASON}"
