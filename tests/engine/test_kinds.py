"""The task-kind seam: a kind supplies its own execute step and statements for the publish transaction."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, ParallelEngine, Stage, Task, TaskError, TaskState, materialize
from pipedag.engine.kinds import TaskKind, register_kind
from pipedag.engine.task_runner import Decision, TaskRun, TaskRunner
from pipedag.store.identifiers import qualified, quote


class AuditedTask(Task):
    """A task whose every run appends a row to an audit table when (and only when) its stage publishes."""

    kind: ClassVar[str] = "test_audited"


class AuditedKind(TaskKind):
    """Runs the task as usual, then asks for an INSERT inside the publish transaction."""

    def execute(self, runner: TaskRunner, decision: Decision) -> TaskRun:
        task_run = super().execute(runner, decision)
        schema = f"{runner.ctx.config.schema_prefix}audit"
        insert = sa.text(f"INSERT INTO {qualified(schema, 'events')} VALUES (:task)")
        sql, params = runner.ctx.store.render(insert.bindparams(task=decision.node.label))
        task_run.publish_sql.append((sql, params))
        return task_run


register_kind("test_audited", AuditedKind())


def audited(fn: Any) -> Task:
    return AuditedTask(fn, name=None, version="1", input_type=None, lazy=False, nout=1, cache=None)


def _audit_rows(config: ConfigContext) -> list[str]:
    schema = f"{config.schema_prefix}audit"
    with config.create_store() as store:
        return [r[0] for r in store.execute_sql(f"SELECT task FROM {qualified(schema, 'events')} ORDER BY task")]


def _create_audit(config: ConfigContext) -> None:
    schema = f"{config.schema_prefix}audit"
    with config.create_store() as store:
        store.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        store.execute_sql(f"CREATE TABLE {qualified(schema, 'events')} (task VARCHAR)")


@pytest.mark.parametrize("parallel", [False, True])
def test_publish_statements_run_only_when_the_stage_publishes(store_config: ConfigContext, parallel: bool) -> None:
    """A kind's publish_sql runs with the stage's publish; a failed sibling means it never runs."""
    _create_audit(store_config)
    engine = ParallelEngine(2) if parallel else None

    def build(fail: bool) -> Flow:
        @audited
        def produce() -> pd.DataFrame:
            return pd.DataFrame({"a": [1]})

        @materialize(version="1" if not fail else "2")
        def sibling() -> pd.DataFrame:
            if fail:
                raise ValueError("sibling failed")
            return pd.DataFrame({"b": [1]})

        with Flow("f") as flow, Stage("s"):
            produce()
            sibling()
        return flow

    assert build(fail=False).run(store_config, engine=engine).successful
    assert _audit_rows(store_config) == ["s.produce"]
    result = build(fail=True).run(store_config, engine=engine, fail_fast=False)
    assert result.task_states["s.sibling"] is TaskState.FAILED
    assert _audit_rows(store_config) == ["s.produce"]  # produce was cache-valid; stage not published


def test_unregistered_kind_is_named(duckdb_config: ConfigContext) -> None:
    """A task of a kind no module registered fails the run with a TaskError naming the kind."""

    class Unknown(Task):
        kind: ClassVar[str] = "nobody_registered_this"

    options: dict[str, Any] = {"name": "t", "version": "1", "input_type": None, "lazy": False, "nout": 1}
    task = Unknown(lambda: pd.DataFrame({"a": [1]}), cache=None, **options)
    with Flow("f") as flow, Stage("s"):
        task()
    with pytest.raises(TaskError, match="kind 'nobody_registered_this'"):
        flow.run(duckdb_config)
