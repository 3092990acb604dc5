"""A flow with every kind of output, run under each engine by the engine tests."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import Blob, Flow, RawSql, Stage, Table, input_stage_versions, materialize


def build_wide(branches: int = 3, tag: str = "1") -> Flow:
    """Stage raw: independent frames; stage mid: lazy SQL per branch, a RawSql script, a blob;
    stage out: a join of every branch and an ``@input_stage_versions`` task."""

    @materialize(version=tag)
    def source(i: int) -> Table:
        return Table(pd.DataFrame({"id": list(range(10)), "v": [i * 10 + k for k in range(10)]}), f"src_{i}")

    @materialize(lazy=True)
    def filtered(src: sa.Alias, i: int) -> Table:
        return Table(sa.select(src.c.id, src.c.v).where(src.c.id % 2 == i % 2), f"filtered_{i}")

    @materialize(lazy=True)
    def script() -> RawSql:
        return RawSql("CREATE TABLE {{out}}.scripted AS SELECT 42 AS answer", "script")

    @materialize(version=tag)
    def model(frame: pd.DataFrame) -> Blob:
        return Blob({"rows": len(frame)}, "model")

    @materialize(version=tag, input_type=pd.DataFrame)
    def combined(*frames: pd.DataFrame) -> pd.DataFrame:
        return pd.concat(frames).sort_values(["v", "id"]).reset_index(drop=True)

    @input_stage_versions(version=tag, input_type=pd.DataFrame)
    def snapshot(tables: dict[str, Any], committed: dict[str, Any]) -> Table:
        return Table(pd.DataFrame({"own": sorted(tables), "n": [len(committed)] * len(tables)}), "snapshot")

    with Flow("wide") as flow:
        with Stage("raw"):
            sources = [source(i) for i in range(branches)]
        with Stage("mid"):
            parts = [filtered(src, i) for i, src in enumerate(sources)]
            script()
            model(sources[0])
        with Stage("out"):
            combined(*parts)
            snapshot()
    return flow


def decisions(result: Any) -> list[tuple[str, str, str]]:
    """(task, decision, reason) of every task, in label order (engines may finish in any order)."""
    return sorted((o.label, o.state.value, o.reason) for o in result.outcomes)


def tables(result: Any) -> dict[str, Any]:
    """Every task's output read back on one connection (tables as sorted rows, other values as they are)."""
    from pipedag.core.blob import BlobRef
    from pipedag.core.nested import map_nested
    from pipedag.core.table import TableRef
    from pipedag.store.blob_store import open_blob_store

    with result.config.create_store() as store:
        blobs = open_blob_store(result.config, store)

        def rows(ref: TableRef) -> list[str]:
            return sorted(map(repr, store.read_arrow(ref.schema, ref.physical_name).to_pylist()))

        values = {o.label: map_nested(o.outputs, TableRef, rows) for o in result.outcomes}
        return {label: map_nested(v, BlobRef, blobs.read) for label, v in values.items()}
