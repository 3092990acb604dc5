"""What crosses a process boundary pickles: task nodes of local functions, decisions, work items."""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, materialize
from pipedag.engine.base import Work
from pipedag.engine.scheduler import Scheduler
from pipedag.engine.task_runner import RunContext
from pipedag.store.blob_store import open_blob_store


def _flow() -> Flow:
    offset = 3  # a closure: only cloudpickle can carry it

    @materialize(version="1")
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    @materialize(lazy=True)
    def shifted(tbl: sa.Alias) -> Any:
        return sa.select((tbl.c.n + offset).label("n"))

    with Flow("f") as flow, Stage("s"):
        shifted(numbers())
    return flow


def test_work_item_of_a_local_lazy_task_round_trips(duckdb_config: ConfigContext) -> None:
    """A lazy task's Work item pickles (its rendered SQL is left out) and runs after unpickling."""
    flow = _flow()
    flow.run(duckdb_config)
    first, lazy = flow.tasks
    with duckdb_config.create_store() as store:
        histories = store.load_history(["s"])
        ctx = RunContext(store, duckdb_config, 99, open_blob_store(duckdb_config, store))
        ctx.values[first] = histories["s"].last_record(first.name).outputs  # type: ignore[union-attr]
        scheduler = Scheduler(ctx, histories, flow.stages)
        decision = scheduler.decide(lazy)
        assert decision.result is not None
        work = Work(duckdb_config, 99, decision, histories["s"], {})
        copy: Work = cloudpickle.loads(cloudpickle.dumps(work))
        assert copy.decision.result is None and copy.decision.key == decision.key
        copy.decision.hit = None  # force execution on the "worker"
        task_run = copy.execute(store, ctx.blobs)
        assert task_run.outcome.rows == 3
        ref = task_run.record.outputs
        assert sorted(r[0] for r in store.execute_sql(f'SELECT n FROM "{ref.schema}"."{ref.physical_name}"')) == [
            4, 5, 6
        ]


def test_task_run_and_outcome_pickle_with_plain_pickle(duckdb_config: ConfigContext) -> None:
    """A worker's answer (TaskRun with TableRefs) pickles without cloudpickle."""
    result = _flow().run(duckdb_config)
    outcome = result.outcomes[-1]
    assert pickle.loads(pickle.dumps(outcome)).outputs == outcome.outputs
