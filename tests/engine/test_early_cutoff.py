"""Early cut-off: a consumer reruns only when a value it reads changed."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, TaskState, materialize

RAN, HIT = TaskState.RAN, TaskState.CACHE_VALID


def _moved_flow(stage_of_params: str) -> Flow:
    @materialize(name="params", version="1")
    def params() -> dict[str, int]:
        return {"x": 1}

    @materialize(name="other", version="1")
    def other() -> pd.DataFrame:
        return pd.DataFrame({"a": [1]})

    @materialize(name="use", version="1")
    def use(p: dict[str, Any]) -> dict[str, int]:
        return {"y": p["x"] + 1}

    with Flow("moved") as flow:
        with Stage("one"):
            other()
            p = params() if stage_of_params == "one" else None
        with Stage("two"):
            p = params() if stage_of_params == "two" else p
        with Stage("three"):
            use(p)
    return flow


def test_task_moved_to_another_stage_with_an_equal_value_keeps_consumers_cached(
    store_config: ConfigContext,
) -> None:
    """Moving a task to another stage reruns it, but its consumer reads an equal value and stays cache-valid."""
    _moved_flow("one").run(store_config)
    states = _moved_flow("two").run(store_config).task_states
    assert states == {"one.other": HIT, "two.params": RAN, "three.use": HIT}


def _lazy_flow(literal_a: int, literal_b: int) -> tuple[Flow, dict[str, Any]]:
    @materialize(version="1")
    def base() -> Table:
        return Table(pd.DataFrame({"v": [1, 2, 3]}), "base")

    @materialize(name="split", lazy=True, nout=2)
    def split(tbl: sa.Alias) -> tuple[Table, Table]:
        a = sa.select(tbl.c.v).where(tbl.c.v >= literal_a)
        b = sa.select(tbl.c.v).where(tbl.c.v >= literal_b)
        return Table(a, "part_a"), Table(b, "part_b")

    @materialize(name="count_a", version="1")
    def count_a(df: pd.DataFrame) -> dict[str, int]:
        return {"n": len(df)}

    @materialize(name="count_b", version="1")
    def count_b(df: pd.DataFrame) -> dict[str, int]:
        return {"n": len(df)}

    with Flow("lazy_multi") as flow:
        with Stage("one"):
            a, b = split(base())
        with Stage("two"):
            outs = {"a": count_a(a), "b": count_b(b)}
    return flow, outs


def test_multi_output_lazy_task_reruns_only_consumers_of_the_changed_output(store_config: ConfigContext) -> None:
    """When one SQL output of a lazy task changes, consumers of its unchanged sibling stay cache-valid."""
    _lazy_flow(1, 2)[0].run(store_config)
    flow, outs = _lazy_flow(3, 2)
    result = flow.run(store_config)
    assert result.task_states == {"one.base": HIT, "one.split": RAN, "two.count_a": RAN, "two.count_b": HIT}
    assert result.get(outs["a"]) == {"n": 1}
    assert result.get(outs["b"]) == {"n": 2}
    flow, outs = _lazy_flow(3, 1)
    result = flow.run(store_config)
    assert result.task_states["two.count_a"] is HIT
    assert result.get(outs["b"]) == {"n": 3}
