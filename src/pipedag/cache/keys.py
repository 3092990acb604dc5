"""Cache keys of task runs and the human-readable reason why a key changed.

A task's key is the hash of its *ingredients*: its name, stage, version, the keys of its
input tables (Merkle style: an input's key changes whenever anything upstream changed),
its other arguments, its cache function's value, and, for lazy tasks (whose function
runs on every flow run), the SQL it renders and its output table options. The ingredients
themselves are stored so that a changed key can be explained ("version 1.0 -> 1.1",
"input inputs.names changed").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipedag.cache.hashing import stable_hash

#: How pipedag lays tables out in the database (column types, encodings, naming). Bump it with
#: any change that makes a table written before read back differently: every cache key and
#: table identity carries it, so all tables are rebuilt once instead of served stale.
STORAGE_FORMAT_VERSION = 1


@dataclass
class Ingredients:
    """Everything a task's cache key is made of, kept readable for explanations."""

    task: str
    stage: str
    version: str | None
    inputs: dict[str, str] = field(default_factory=dict)
    arguments: str = ""
    cache_function: str | None = None
    query: str | None = None
    options: str | None = None
    #: CODE_VERSION-style fingerprint of a manually versioned task's code. Not part of the key:
    #: it only lets pipedag say that the code changed while the version did not.
    code: str | None = None
    #: The :data:`STORAGE_FORMAT_VERSION` the task's tables were written with (0: before it existed).
    storage_format: int = STORAGE_FORMAT_VERSION

    def key(self) -> str:
        """The cache key: a stable hash over all ingredients (except ``code``)."""
        data = self.to_json()
        del data["code"]
        return stable_hash(data)

    def to_json(self) -> dict[str, Any]:
        """Serialize for the metadata schema."""
        return {
            "task": self.task,
            "stage": self.stage,
            "version": self.version,
            "inputs": self.inputs,
            "arguments": self.arguments,
            "cache_function": self.cache_function,
            "query": self.query,
            "options": self.options,
            "code": self.code,
            "storage_format": self.storage_format,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ingredients:
        """Inverse of :meth:`to_json`; records from before storage formats were tracked get format 0.

        Raises:
            TypeError: for fields this version does not know (metadata of another pipedag version).
        """
        return cls(**{"storage_format": 0, **data})


def explain_change(old: Ingredients | None, new: Ingredients) -> str:
    """Say in a few words why ``new`` differs from the last recorded ``old``."""
    if old is None:
        return "no earlier run of this task"
    reasons: list[str] = []
    if old.storage_format != new.storage_format:
        reasons.append(f"pipedag's storage format changed ({old.storage_format} -> {new.storage_format})")
    if old.version != new.version:
        reasons.append(_version_change(old.version, new.version))
    for label in sorted(new.inputs.keys() - old.inputs.keys()):
        reasons.append(f"new input {label}")
    for label in sorted(old.inputs.keys() - new.inputs.keys()):
        reasons.append(f"input {label} removed")
    for label in sorted(new.inputs.keys() & old.inputs.keys()):
        if new.inputs[label] != old.inputs[label]:
            reasons.append(f"input {label} changed")
    if old.arguments != new.arguments:
        reasons.append("arguments changed")
    if old.cache_function != new.cache_function:
        reasons.append("cache function value changed")
    if old.query != new.query:
        reasons.append("query changed")
    if old.options != new.options:
        reasons.append("output table options changed")
    return ", ".join(reasons) or "cache key changed"


def forgotten_bump(cached: Ingredients, current: Ingredients) -> str | None:
    """The warning for a cache hit whose code changed while its manual version did not, else None."""
    if cached.code is None or current.code is None or cached.code == current.code:
        return None
    if cached.version != current.version:
        return None
    return f"code changed since the cached run, version still {current.version}: bump it or use CODE_VERSION"


def _version_change(old: str | None, new: str | None) -> str:
    """Derived versions are digests: name what changed instead of printing them."""
    if old and new and old.startswith("code:") and new.startswith("code:"):
        return "task code changed (CODE_VERSION)"
    if old and new and old.startswith("auto:") and new.startswith("auto:"):
        return "polars plan changed (AUTO_VERSION)"
    return f"version {old} -> {new}"
