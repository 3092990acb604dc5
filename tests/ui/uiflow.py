"""The flow the page tests look at: three stages, a failing task and the one it blocks.

Environment variables steer it without changing its code: ``UI_TEST_SLEEP`` makes the
unversioned ``slow`` task (which runs every time) take that many seconds.
"""

from __future__ import annotations

import os
import time

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, materialize

ROWS = 120


@materialize(version="1")
def load() -> Table:
    frame = pd.DataFrame({"id": range(ROWS), "name": [f"name {i}" for i in range(ROWS)]})
    return Table(frame, "names", primary_key="id")


@materialize()
def slow() -> Table:
    time.sleep(float(os.environ.get("UI_TEST_SLEEP", "0")))
    return Table(pd.DataFrame({"tick": [1]}), "ticks")


@materialize(version="1", input_type=pd.DataFrame)
def double(df: pd.DataFrame) -> Table:
    return Table(df.assign(twice=df["id"] * 2), "doubled")


@materialize(lazy=True, input_type=sa.Table)
def count(tbl: sa.Table) -> Table:
    return Table(sa.select(sa.func.count().label("n")).select_from(tbl), "counted")


@materialize(version="1", input_type=pd.DataFrame)
def bad(df: pd.DataFrame) -> Table:
    raise ValueError("boom from bad")


@materialize(version="1", input_type=pd.DataFrame)
def after(df: pd.DataFrame) -> Table:
    return Table(df, "after")


def build() -> Flow:
    with Flow("uiflow") as flow:
        with Stage("raw"):
            names = load()
            slow()
        with Stage("features"):
            doubled = double(names)
            count(doubled)
        with Stage("broken"):
            after(bad(doubled))
    return flow
