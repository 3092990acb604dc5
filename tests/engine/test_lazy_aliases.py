"""Lazy SQL tasks get a unique alias per input table, so same-named inputs can be joined."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, TaskState, materialize


def _flow(factor: int) -> tuple[Flow, Any]:
    @materialize(name="make_t", version="1")
    def make_t(offset: int) -> Table:
        return Table(pd.DataFrame({"id": [1, 2], "v": [offset + 1, offset + 2]}), "t")

    @materialize(name="joined", lazy=True)
    def joined(left: sa.Alias, right: sa.Alias) -> Table:
        query = sa.select(left.c.id, (left.c.v + right.c.v * factor).label("total")).join_from(
            left, right, left.c.id == right.c.id
        )
        return Table(query.order_by(left.c.id), "joined")

    with Flow("aliases") as flow:
        with Stage("one"):
            first = make_t(0)
        with Stage("two"):
            second = make_t(10)
        with Stage("three"):
            out = joined(first, second)
    return flow, out


def test_join_of_two_tables_named_alike_from_two_stages(store_config: ConfigContext) -> None:
    """Joining ``one.t`` with ``two.t`` in a lazy task works, and an identical rerun is cache-valid."""
    flow, out = _flow(1)
    result = flow.run(store_config)
    assert list(result.get(out, as_type=pd.DataFrame)["total"]) == [12, 14]
    assert flow.run(store_config).task_states["three.joined"] is TaskState.CACHE_VALID
    flow, out = _flow(2)
    result = flow.run(store_config)
    assert result.task_states["three.joined"] is TaskState.RAN
    assert list(result.get(out, as_type=pd.DataFrame)["total"]) == [23, 26]


def test_self_join_of_one_input_passed_twice(store_config: ConfigContext) -> None:
    """The same table passed twice gets two aliases, so a self-join needs no manual aliasing."""

    @materialize(version="1")
    def base() -> Table:
        return Table(pd.DataFrame({"id": [1, 2], "v": [3, 4]}), "base")

    @materialize(lazy=True)
    def pairs(a: sa.Alias, b: sa.Alias) -> Table:
        return Table(sa.select(sa.func.count().label("n")).select_from(a).join(b, a.c.v <= b.c.v), "pairs")

    with Flow("self_join") as flow, Stage("s"):
        b = base()
        out = pairs(b, b)
    assert list(flow.run(store_config).get(out, as_type=pd.DataFrame)["n"]) == [3]
