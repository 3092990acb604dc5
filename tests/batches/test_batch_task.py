"""Batch tasks in a flow: output accumulation, nothing-to-do, backfills, retries, plans and exhausted ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipedag import (
    ConfigContext,
    ConfigError,
    Flow,
    Stage,
    StoreError,
    Table,
    TaskError,
    TaskState,
    WiringError,
    materialize,
)
from pipedag.batches import BatchSource, Inventory
from pipedag.engine.plan import plan_flow

FILES = BatchSource(table="landing.file_catalog", id="id", item="path", weight="size_mib")


class Catalog:
    """The catalog the flow lists, the calls its batch task got, and ids that make it fail."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.calls: list[tuple[int, ...]] = []
        self.failing: set[int] = set()
        self.marker = "a"


def build(cat: Catalog, max_count: int = 2, max_attempts: int = 3) -> Any:
    """landing.file_catalog (rebuilt every run) feeding raw.ingest, a batch task."""

    @materialize(nout=1)
    def list_files() -> Table:
        frame = pd.DataFrame({"id": cat.ids, "path": [f"f{i}" for i in cat.ids], "size_mib": 1.0})
        return Table(frame, "file_catalog")

    @materialize(version="1", batches=FILES.incremental(job="ingest", max_count=max_count, max_attempts=max_attempts))
    def ingest(batch: Any) -> pd.DataFrame:
        cat.calls.append(batch.ids)
        bad = cat.failing.intersection(batch.ids)
        if bad:
            raise ValueError(f"cannot read f{min(bad)}")
        return pd.DataFrame({"id": list(batch.ids), "path": list(batch.items), "marker": cat.marker})

    with Flow("batches") as flow:
        with Stage("landing"):
            list_files()
        with Stage("raw"):
            out = ingest()
    return flow, out


def outcome(result: Any, label: str) -> Any:
    """The TaskOutcome of task ``stage.task``."""
    return next(o for o in result.outcomes if o.label == label)


def rows(result: Any, out: Any) -> list[tuple[int, str]]:
    """The output's (id, marker) rows, sorted."""
    frame = result.get(out, as_type=pd.DataFrame)
    return sorted(zip(frame["id"].tolist(), frame["marker"].tolist(), strict=True))


def test_runs_take_batch_after_batch_then_nothing_to_do(store_config: ConfigContext) -> None:
    """Each run adds the next batch's rows; with nothing to do the task is not called and the output stays."""
    cat = Catalog([1, 2, 3, 4, 5])
    flow, out = build(cat)
    first = flow.run(store_config)
    assert rows(first, out) == [(1, "a"), (2, "a")]
    assert "next batch" not in outcome(first, "raw.ingest").reason
    assert outcome(first, "raw.ingest").reason.endswith("ids 1..2 (2 items, weight 2)")
    flow.run(store_config)
    third = flow.run(store_config)
    assert [i for i, _ in rows(third, out)] == [1, 2, 3, 4, 5]
    assert cat.calls == [(1, 2), (3, 4), (5,)]
    idle = flow.run(store_config)
    assert cat.calls == [(1, 2), (3, 4), (5,)]
    assert idle.task_states["raw.ingest"] is TaskState.CACHE_VALID
    assert outcome(idle, "raw.ingest").reason == (
        "nothing to do: incremental job 'ingest' has no new items; the task is not called"
    )
    assert [i for i, _ in rows(idle, out)] == [1, 2, 3, 4, 5]
    cat.ids.append(6)
    assert [i for i, _ in rows(flow.run(store_config), out)] == [1, 2, 3, 4, 5, 6]


def test_backfill_run_replaces_the_rows_of_its_ids(store_config: ConfigContext) -> None:
    """flow.run(batches={...}) reprocesses 2..3 once, replacing their rows; the incremental job stays put."""
    cat = Catalog([1, 2, 3, 4])
    flow, out = build(cat, max_count=10)
    flow.run(store_config)
    cat.marker = "b"
    redo = FILES.backfill(job="redo", id_min=2, id_max=3)
    backfilled = flow.run(store_config, batches={"ingest": redo})
    assert rows(backfilled, out) == [(1, "a"), (2, "b"), (3, "b"), (4, "a")]
    assert flow.run(store_config, batches={"ingest": redo}).task_states["raw.ingest"] is TaskState.CACHE_VALID
    jobs = {j.job: j.position for j in Inventory(store_config).jobs()}
    assert jobs == {"ingest": 4, "redo": 3}
    with pytest.raises(ConfigError, match="has no batch task 'nope'; its batch tasks: ingest"):
        flow.run(store_config, batches={"nope": redo})


def test_batches_per_run_processes_several_batches(store_config: ConfigContext) -> None:
    """batches_per_run=3 takes three batches in one run and publishes them together."""
    cat = Catalog(list(range(1, 8)))
    flow, out = build(cat)
    result = flow.run(store_config, batches_per_run=3)
    assert cat.calls == [(1, 2), (3, 4), (5, 6)]
    assert [i for i, _ in rows(result, out)] == [1, 2, 3, 4, 5, 6]
    assert outcome(result, "raw.ingest").rows == 6


def test_failed_batch_leaves_output_and_is_retried_then_exhausted(store_config: ConfigContext) -> None:
    """A failing batch publishes nothing and is retried next run; exhausted ranges appear in the outcome."""
    cat = Catalog([1, 2, 3, 4, 5, 6])
    flow, out = build(cat, max_attempts=2)
    flow.run(store_config)
    cat.failing = {3}
    failed = flow.run(store_config, fail_fast=False)
    assert failed.task_states["raw.ingest"] is TaskState.FAILED
    assert "recorded as failed" in " ".join(getattr(outcome(failed, "raw.ingest").exception, "__notes__", []))
    assert [(r.id_min, r.status, r.attempt) for r in Inventory(store_config).status("ingest")][-1] == (3, "failed", 1)
    flow.run(store_config, fail_fast=False)
    assert cat.calls[-2:] == [(3, 4), (3, 4)]
    assert Inventory(store_config).status("ingest")[-1].status == "exhausted"
    moved_on = flow.run(store_config)
    reason = outcome(moved_on, "raw.ingest").reason
    assert "ids 5..6" in reason and "exhausted ranges: ids 3..4 (ValueError: cannot read f3)" in reason
    assert [i for i, _ in rows(moved_on, out)] == [1, 2, 5, 6]


def test_plan_shows_the_next_batch_without_claiming_it(store_config: ConfigContext) -> None:
    """pipedag plan names the batch the next run would take, and claims nothing."""
    cat = Catalog([1, 2, 3, 4])
    flow, _ = build(cat)
    flow.run(store_config)
    planned = plan_flow(flow, store_config).task("raw.ingest")
    assert planned.action == "run"
    assert planned.reason == "next batch of incremental job 'ingest': ids 3..4 (2 items, weight 2)"
    assert [r.id_min for r in Inventory(store_config).status("ingest")] == [1]
    flow.run(store_config)
    assert "nothing to do" in plan_flow(flow, store_config).task("raw.ingest").reason


def test_batch_output_must_carry_the_id_column(store_config: ConfigContext) -> None:
    """A batch task whose table lacks the source's id column fails, naming the column."""

    @materialize(nout=1)
    def list_files() -> Table:
        return Table(pd.DataFrame({"id": [1], "path": ["f1"], "size_mib": [1.0]}), "file_catalog")

    @materialize(version="1", batches=FILES.incremental(job="j"))
    def ingest(batch: Any) -> pd.DataFrame:
        return pd.DataFrame({"path": list(batch.items)})

    with Flow("f") as flow:
        with Stage("landing"):
            list_files()
        with Stage("raw"):
            ingest()
    with pytest.raises(TaskError, match=r"must return the id column 'id' of batch source landing\.file_catalog"):
        flow.run(store_config)


def test_batch_task_wiring_errors() -> None:
    """A batch task cannot be lazy, and batches= needs a spec."""
    with pytest.raises(WiringError, match="cannot be lazy"):
        materialize(lazy=True, batches=FILES.incremental(job="j"))(lambda batch: None)
    with pytest.raises(ConfigError, match=r"pass source\.incremental"):
        materialize(batches="ingest")(lambda batch: None)


KILLED_FLOW = '''
import os, sys
import pandas as pd
from pipedag import Flow, Stage, Table, create_basic_pipedag_config, materialize
from pipedag.batches import BatchSource

url, prefix, kill = sys.argv[1], sys.argv[2], sys.argv[3] == "kill"
files = BatchSource(table="landing.file_catalog", id="id", item="path")

@materialize(version="1")
def list_files():
    return Table(pd.DataFrame({"id": [1, 2, 3], "path": ["f1", "f2", "f3"]}), "file_catalog")

@materialize(version="1", batches=files.incremental(job="ingest", max_count=2))
def ingest(batch):
    return pd.DataFrame({"id": list(batch.ids), "attempt": batch.attempt})

@materialize(version=None)
def after_write(out):
    if kill:
        os._exit(9)  # the batch's rows are written, the stage is not published yet
    return pd.DataFrame({"n": [len(out)]})

with Flow("killed") as flow:
    with Stage("landing"):
        catalog = list_files()
    with Stage("raw"):
        after_write(ingest())

config = create_basic_pipedag_config(url, schema_prefix=prefix).get()
assert flow.run(config).successful
'''


def test_kill_between_write_and_publish_shows_neither_and_next_run_retakes(
    store_config: ConfigContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed between writing a batch and publishing shows neither; the next run retakes the range at once."""
    import runpy
    import subprocess
    import sys

    from pipedag.store.identifiers import qualified

    script = tmp_path / "killed_flow.py"
    script.write_text(KILLED_FLOW)
    args = [str(script), store_config.table_store_url, store_config.schema_prefix]
    killed = subprocess.run([sys.executable, *args, "kill"], capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr
    (claimed,) = Inventory(store_config).status("ingest")
    assert (claimed.id_min, claimed.id_max, claimed.status, claimed.attempt) == (1, 2, "claimed", 1)
    with store_config.create_store() as store, pytest.raises(StoreError):  # the stage was never published
        store.execute_sql(f"SELECT * FROM {qualified(store.stage_schema('raw'), 'ingest')}")
    monkeypatch.setattr(sys, "argv", [*args, "run"])
    runpy.run_path(str(script), run_name="__main__")  # the next run, in this process
    (retaken,) = Inventory(store_config).status("ingest")
    assert (retaken.id_min, retaken.id_max, retaken.status, retaken.attempt) == (1, 2, "succeeded", 2)
    with store_config.create_store() as store:
        out = store.execute_sql(f"SELECT id, attempt FROM {qualified(store.stage_schema('raw'), 'ingest')} ORDER BY id")
    assert out == [(1, 2), (2, 2)]


def test_batch_task_on_the_parallel_engine(store_config: ConfigContext) -> None:
    """On worker threads with their own connections, batches are claimed, staged and published alike."""
    from pipedag import ParallelEngine

    cat = Catalog([1, 2, 3])
    flow, out = build(cat)
    flow.run(store_config, engine=ParallelEngine(2))
    second = flow.run(store_config, engine=ParallelEngine(2))
    assert [i for i, _ in rows(second, out)] == [1, 2, 3]
    assert [r.status for r in Inventory(store_config).status("ingest")] == ["succeeded", "succeeded"]
