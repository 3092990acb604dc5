"""A three-stage flow for the fault tests; run as a script it prints ``ready`` and runs once.

Every table carries the run's token, so a reader can tell which run wrote it. Usage::

    python fault_flow.py URL SCHEMA_PREFIX TOKEN
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, create_basic_pipedag_config, materialize

ROWS = 2000


@materialize(version="1")
def source(token: str, offset: int) -> Any:
    time.sleep(0.02)  # widen the window in which a kill lands mid-stage
    return Table(pd.DataFrame({"token": [token] * ROWS, "x": range(offset, offset + ROWS)}), f"src{offset}")


@materialize(version="1", input_type=pd.DataFrame)
def derived(df: pd.DataFrame) -> Any:
    time.sleep(0.02)
    return Table(df.assign(y=df.x * 2), "derived")


@materialize(lazy=True)
def joined(left: sa.Table, right: sa.Table) -> Any:
    return Table(sa.select(left.c.token, left.c.x, right.c.y).join_from(left, right, left.c.x == right.c.x), "joined")


@materialize(version="1", input_type=pd.DataFrame)
def summary(df: pd.DataFrame) -> Any:
    return Table(df.groupby("token", as_index=False).agg(n=("x", "count")), "summary")


#: The stages and the tables each publishes.
STAGES = {"raw": {"src0", "src1"}, "mid": {"derived", "joined"}, "out": {"summary"}}


def build(token: str) -> Flow:
    """The flow for one run; ``token`` ends up in every row of every table."""
    with Flow("faults") as flow:
        with Stage("raw"):
            a = source(token, 0)
            b = source(token, 1)
        with Stage("mid"):
            d = derived(a)
            j = joined(b, d)
        with Stage("out"):
            summary(j)
    return flow


def config(url: str, prefix: str) -> ConfigContext:
    """The instance the fault tests use (DuckDB file or PostgreSQL prefix)."""
    return create_basic_pipedag_config(url, schema_prefix=prefix, fail_fast=True, lock_timeout=60).get()


if __name__ == "__main__":
    url, prefix, token = sys.argv[1:4]
    flow = build(token)
    print("ready", flush=True)
    flow.run(config=config(url, prefix))
    print("done", flush=True)
