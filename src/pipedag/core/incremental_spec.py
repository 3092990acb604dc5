"""``Incremental``: how a task is recomputed record by record instead of as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipedag.errors import WiringError

#: Column names pipedag uses in key-state tables; keys may not start with it.
RESERVED_PREFIX = "_pd_"


@dataclass(frozen=True)
class Incremental:
    """Declares a task incremental: it only sees the input rows of keys that are new or changed.

    The task returns the full result for the keys it received; rows of keys that were deleted
    from its inputs, or that it returned nothing for, are removed from its output.

    Args:
        keys: Key column names. ``None`` takes the primary key of the inputs.
        chunk_size: Due keys handed to the function per call.
        required: Names of the task's parameters whose input must have a key for it to exist
            (an inner join); by default a key present in any input is processed.
        on_version_change: ``"rerun"`` processes every key once after a version (or
            AUTO_VERSION / CODE_VERSION) change; ``"keep"`` applies new code to new changes only.
        on_error: ``"fail"`` fails the run and publishes nothing of the stage; ``"quarantine"``
            narrows a failing chunk down to its bad keys, publishes the rest and retries the bad
            keys on later runs.
        max_attempts: Runs that may try a quarantined key before it is reported exhausted.

    Raises:
        WiringError: for an invalid setting, naming it and the fix.
    """

    keys: tuple[str, ...] | list[str] | str | None = None
    chunk_size: int = 10_000
    required: tuple[str, ...] | list[str] | str = ()
    on_version_change: Literal["rerun", "keep"] = "rerun"
    on_error: Literal["fail", "quarantine"] = "fail"
    max_attempts: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _names("keys", self.keys) if self.keys is not None else None)
        object.__setattr__(self, "required", _names("required", self.required, allow_empty=True))
        _check_int("chunk_size", self.chunk_size)
        _check_int("max_attempts", self.max_attempts)
        _check_choice("on_version_change", self.on_version_change, ("rerun", "keep"))
        _check_choice("on_error", self.on_error, ("fail", "quarantine"))

    @property
    def key_columns(self) -> tuple[str, ...] | None:
        """The declared keys as a tuple (``None`` when taken from the inputs' primary keys)."""
        return self.keys if self.keys is None else tuple(self.keys)

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """The names given in ``required``, as a tuple."""
        return tuple(self.required)


def _names(what: str, value: object, allow_empty: bool = False) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise WiringError(f"Incremental({what}={value!r}): give a column name or a list of non-empty names.")
    if not names and not allow_empty:
        raise WiringError(f"Incremental({what}=[]): name at least one column, or leave {what} out.")
    if len(set(names)) != len(names):
        raise WiringError(f"Incremental({what}={list(names)!r}) names a column twice.")
    reserved = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if reserved:
        raise WiringError(
            f"Incremental({what}=...): {reserved[0]!r} starts with {RESERVED_PREFIX!r}, which pipedag reserves "
            "for its key-state columns. Rename the column."
        )
    return tuple(names)


def _check_int(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WiringError(f"Incremental({what}={value!r}): {what} must be an int >= 1.")


def _check_choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise WiringError(f"Incremental({what}={value!r}): {what} must be {options}.")
