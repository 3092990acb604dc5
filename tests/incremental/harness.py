"""A harness that drives the incremental core directly against a real table store."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipedag.cache.hashing import arrow_fingerprint
from pipedag.incremental import Incremental
from pipedag.incremental.run import IncrementalTask, OutputTable
from pipedag.incremental.sources import Source
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified


class Harness:
    """An open store with stages ``raw`` (inputs) and ``features`` (incremental outputs)."""

    def __init__(self, store: SQLTableStore) -> None:
        self.store = store
        self.run_id = 0
        self.calls: list[dict[str, pa.Table]] = []
        self._names = itertools.count()
        store.prepare_stage("raw")
        store.prepare_stage("features")

    def source(self, data: pa.Table, param: str = "events", primary_key: Sequence[str] = ("id",)) -> Source:
        """Store ``data`` as a new input table; its content key is its Arrow fingerprint."""
        schema, name = self.store.data_schema("raw"), f"{param}_{next(self._names)}"
        self.store.write_arrow(schema, name, data)
        columns = self.store.table_columns(schema, name)
        return Source(param, schema, name, columns, arrow_fingerprint(data), tuple(primary_key))

    def task(
        self, sources: Sequence[Source], spec: Incremental | None = None, *, version: str = "1",
        task: str = "doubled", full_refresh: bool = False,
    ) -> IncrementalTask:
        """A new run of the task (not yet executed)."""
        self.run_id += 1
        return IncrementalTask(
            self.store, spec or Incremental(keys=["id"], chunk_size=4), stage="features", task=task,
            sources=sources, version=version, run_id=self.run_id, output_name=task, full_refresh=full_refresh,
        )

    def run(
        self, sources: Sequence[Source], fn: Callable[[dict[str, pa.Table]], pa.Table] | None = None,
        spec: Incremental | None = None, **kwargs: Any,
    ) -> tuple[IncrementalTask, OutputTable]:
        """Execute, publish in one transaction, finish; record what the function was called with."""
        job = self.task(sources, spec, **kwargs)
        chosen = fn or doubled

        def recording(inputs: dict[str, pa.Table]) -> pa.Table:
            self.calls.append(inputs)
            return chosen(inputs)

        out = job.execute(recording)
        with self.store.transaction():
            job.publish()
        return job, out

    def rows(self, out: OutputTable, order: str = "id") -> list[tuple[Any, ...]]:
        """The output table's rows, sorted."""
        return self.store.execute_sql(f"SELECT * FROM {qualified(out.schema, out.physical_name)} ORDER BY {order}")

    def seen_keys(self, column: str = "id", param: str = "events") -> list[Any]:
        """Every key value handed to the function since the last call of this method."""
        keys = sorted(v for call in self.calls for v in call[param].column(column).to_pylist())
        self.calls.clear()
        return keys

    def tables(self, schema: str) -> set[str]:
        """Tables currently in ``schema``."""
        return self.store.list_tables(schema)


def doubled(inputs: dict[str, pa.Table]) -> pa.Table:
    """``value * 2`` per id."""
    events = inputs["events"]
    return pa.table({"id": events["id"], "value2": pc.multiply(events["value"], 2)})


def events(ids: Sequence[int], values: Sequence[int] | None = None, int_type: pa.DataType | None = None) -> pa.Table:
    """An ``(id, value)`` table of int64 (or ``int_type``); values default to the ids."""
    int_type = int_type or pa.int64()
    return pa.table({"id": pa.array(ids, int_type), "value": pa.array(values if values is not None else ids, int_type)})
