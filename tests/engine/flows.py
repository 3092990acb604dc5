"""A parametrized two-stage flow whose every cache-key ingredient can be varied by a test."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, materialize


def build_flow(
    *,
    version_a: str = "1.0",
    arg_b: int = 1,
    literal: str = "Alice",
    cache_value: Any = 1,
    fail_in_s2: bool = False,
) -> Flow:
    """Stage s1: a (versioned), b (argument), d (cache function); stage s2: c (lazy on a), e (on c)."""

    @materialize(name="a", version=version_a)
    def a() -> Table:
        return Table(pd.DataFrame({"id": [1, 2, 3], "name": ["Alice", "Bob", "ALICE"]}), "names")

    @materialize(name="b", version="1.0")
    def b(k: int) -> pd.DataFrame:
        return pd.DataFrame({"k": [k]})

    @materialize(name="d", version="1.0", cache=lambda: cache_value)
    def d() -> pd.DataFrame:
        return pd.DataFrame({"v": [cache_value]})

    @materialize(name="c", lazy=True)
    def c(names: sa.Alias) -> sa.Select[Any]:
        return sa.select(names.c.id, names.c.name).where(names.c.name == literal)

    @materialize(name="e", version="1.0", input_type=pd.DataFrame)
    def e(selected: pd.DataFrame) -> pd.DataFrame:
        if fail_in_s2:
            raise RuntimeError("boom in e")
        return selected.assign(n=len(selected))

    with Flow("f") as flow:
        with Stage("s1"):
            names = a()
            b(arg_b)
            d()
        with Stage("s2"):
            e(c(names))
    return flow


def outputs_of(flow: Flow) -> dict[str, Any]:
    """The TaskOutput of every task, keyed by task name."""
    from pipedag.core.task import TaskOutput

    return {node.name: TaskOutput(node) for node in flow.tasks}
