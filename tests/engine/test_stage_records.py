"""A stage is republished whenever any task's recorded output changed, plain values included."""

from __future__ import annotations

from typing import Any

from pipedag import ConfigContext, Flow, Stage, TaskState, materialize
from pipedag.engine.sequential import SequentialEngine


def _flow(x: int, seen: list[int]) -> Flow:
    @materialize(name="params")
    def params() -> dict[str, int]:
        return {"x": x}

    @materialize(name="use", version="1")
    def use(p: dict[str, Any]) -> dict[str, int]:
        seen.append(p["x"])
        return {"doubled": p["x"] * 2}

    with Flow("records") as flow:
        with Stage("one"):
            p = params()
        with Stage("two"):
            use(p)
    return flow


def test_new_plain_value_of_an_unversioned_task_is_published(store_config: ConfigContext) -> None:
    """After an unversioned task returns {"x": 2} instead of {"x": 1}, a later run of the next stage alone sees 2."""
    seen: list[int] = []
    _flow(1, seen).run(store_config)
    second = _flow(2, seen).run(store_config)
    assert second.task_states == {"one.params": TaskState.RAN, "two.use": TaskState.RAN}
    assert seen == [1, 2]
    alone = SequentialEngine(store_config).run(_flow(3, seen), fail_fast=True, stages=["two"])
    assert alone.task_states == {"two.use": TaskState.CACHE_VALID}
    assert seen == [1, 2]  # stage one's published value is 2: stage two's cached run with 2 is reused
    with store_config.create_store() as store:
        history = store.load_history(["one"])["one"]
    assert history.last_record("params").outputs == {"x": 2}  # type: ignore[union-attr]


def test_equal_records_leave_the_stage_unchanged(store_config: ConfigContext) -> None:
    """An unversioned task returning the same value again does not publish a new stage version."""
    seen: list[int] = []
    _flow(1, seen).run(store_config)
    _flow(1, seen).run(store_config)
    with store_config.create_store() as store:
        history = store.load_history(["one"])["one"]
    assert len(history.versions) == 1
