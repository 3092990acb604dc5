"""A pydiverse.pipedag quickstart-style program; only its imports say ``pipedag`` instead.

Two frames go into the database, SQL joins them, and a pandas task prints the result::

    python examples/pydiverse_quickstart.py
"""

from __future__ import annotations

import tempfile

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, materialize
from pipedag.core.config import create_basic_pipedag_config


@materialize(version="1.0", nout=2)
def load_fruit():
    fruit = pd.DataFrame({"id": [1, 2, 3], "fruit": ["apple", "pear", "plum"]})
    prices = pd.DataFrame({"id": [1, 2, 3], "price": [0.5, 0.8, 0.3]})
    return fruit, prices


@materialize(lazy=True, input_type=sa.Table)
def price_list(fruit, prices):
    return sa.select(fruit.c.id, fruit.c.fruit, prices.c.price).join_from(fruit, prices, fruit.c.id == prices.c.id)


@materialize(input_type=pd.DataFrame)
def show(df):
    print(df)


def build_flow():
    with Flow("flow") as flow:
        with Stage("inputs"):
            fruit, prices = load_fruit()
        with Stage("features"):
            priced = price_list(fruit, prices)
            show(priced)
    return flow, priced


def main():
    flow, _ = build_flow()
    with tempfile.TemporaryDirectory() as temp_dir:
        cfg = create_basic_pipedag_config(
            f"duckdb:///{temp_dir}/db.duckdb",
            disable_stage_locking=True,
        ).get("default")
        flow.run(config=cfg)


if __name__ == "__main__":
    main()
