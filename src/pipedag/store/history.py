"""What the metadata schema remembers about a stage: its retained versions and task records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipedag.cache.keys import Ingredients
from pipedag.core.blob import BlobRef
from pipedag.core.nested import iter_nested
from pipedag.core.table import TableRef


def encode_outputs(value: Any) -> Any:
    """JSON form of a task's output structure (TableRefs tagged, containers kept)."""
    if isinstance(value, TableRef):
        return {"__table__": value.to_json()}
    if isinstance(value, BlobRef):
        return {"__blob__": value.to_json()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_outputs(v) for v in value]}
    if isinstance(value, list):
        return [encode_outputs(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[k, encode_outputs(v)] for k, v in value.items()]}
    return value


def decode_outputs(value: Any) -> Any:
    """Inverse of :func:`encode_outputs`."""
    if isinstance(value, list):
        return [decode_outputs(v) for v in value]
    if isinstance(value, dict):
        if "__table__" in value:
            return TableRef.from_json(value["__table__"])
        if "__blob__" in value:
            return BlobRef.from_json(value["__blob__"])
        if "__tuple__" in value:
            return tuple(decode_outputs(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: decode_outputs(v) for k, v in value["__dict__"]}
    return value


def iter_tables(value: Any) -> Iterator[TableRef]:
    """Every TableRef inside an output structure."""
    return iter_nested(value, TableRef)


def iter_blobs(value: Any) -> Iterator[BlobRef]:
    """Every BlobRef inside an output structure."""
    return iter_nested(value, BlobRef)


@dataclass
class TaskRecord:
    """One task's entry in a stage version: its cache key, ingredients and outputs.

    ``extra`` holds tables the task materialized imperatively (``Table(...).materialize()``)
    without returning them: they are published with the stage like its outputs.
    """

    task: str
    cache_key: str
    ingredients: Ingredients
    outputs: Any
    extra: tuple[TableRef, ...] = ()

    def tables(self) -> list[TableRef]:
        """The tables among this task's outputs (and its extra tables)."""
        return [*iter_tables(self.outputs), *self.extra]

    def encoded_outputs(self) -> Any:
        """JSON form of ``outputs`` and ``extra`` for the metadata schema."""
        if not self.extra:
            return encode_outputs(self.outputs)
        return {"__with_extra__": [encode_outputs(self.outputs), [ref.to_json() for ref in self.extra]]}

    @staticmethod
    def decode(value: Any) -> tuple[Any, tuple[TableRef, ...]]:
        """Inverse of :meth:`encoded_outputs`: ``(outputs, extra)``."""
        if isinstance(value, dict) and "__with_extra__" in value:
            outputs, extra = value["__with_extra__"]
            return decode_outputs(outputs), tuple(TableRef.from_json(r) for r in extra)
        return decode_outputs(value), ()

    def blobs(self) -> list[BlobRef]:
        """The blobs among this task's outputs."""
        return list(iter_blobs(self.outputs))


@dataclass
class StageHistory:
    """The retained published versions of one stage (newest first) and its physical tables."""

    stage: str
    versions: dict[int, list[TaskRecord]] = field(default_factory=dict)
    existing_tables: set[str] = field(default_factory=set)
    existing_blobs: set[str] = field(default_factory=set)

    @property
    def current(self) -> list[TaskRecord]:
        """Task records of the published version (empty before the first publish)."""
        return self.versions[max(self.versions)] if self.versions else []

    def published_tables(self) -> dict[str, TableRef]:
        """Tables visible in the stage schema right now, by name."""
        return {ref.name: ref for record in self.current for ref in record.tables()}

    def last_record(self, task: str) -> TaskRecord | None:
        """The task's record in the published version, for explaining a rerun."""
        return next((r for r in self.current if r.task == task), None)

    def lookup(self, cache_key: str) -> TaskRecord | None:
        """A record with this key in any retained version whose tables all still exist."""
        for run_id in sorted(self.versions, reverse=True):
            for record in self.versions[run_id]:
                if record.cache_key == cache_key and self._complete(record):
                    return record
        return None

    def _complete(self, record: TaskRecord) -> bool:
        """Whether every table and blob of a record still exists (external tables are not ours to check)."""
        return all(t.external or t.physical_name in self.existing_tables for t in record.tables()) and all(
            b.file in self.existing_blobs for b in record.blobs()
        )

    def published_blobs(self) -> list[BlobRef]:
        """Blobs of the published version."""
        return [b for record in self.current for b in record.blobs()]

    def referenced_blobs(self) -> set[str]:
        """Blob files any retained version still points to."""
        return {b.file for records in self.versions.values() for r in records for b in r.blobs()}

    def find_table(self, physical_name: str) -> TableRef | None:
        """The metadata of an existing physical table any retained version refers to."""
        if physical_name not in self.existing_tables:
            return None
        for records in self.versions.values():
            for record in records:
                for ref in record.tables():
                    if ref.physical_name == physical_name:
                        return ref
        return None

    def referenced_tables(self) -> set[str]:
        """Physical names any retained version still points to."""
        return {
            t.physical_name for records in self.versions.values() for r in records for t in r.tables() if not t.external
        }
