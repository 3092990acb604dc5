"""A pydiverse.pipedag "imperative materialization"-style program.

Tasks store tables with ``Table(...).materialize()`` while they run: a lazy SQL task
materializes a subquery (``_totals``) and joins it, eager tasks materialize frames::

    python examples/pydiverse_imperative.py
"""

from __future__ import annotations

import tempfile

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, materialize
from pipedag.context import StageLockContext
from pipedag.core.config import create_basic_pipedag_config


def ref(tbl: sa.Alias) -> str:
    return f'"{tbl.original.schema}"."{tbl.original.name}"'


@materialize(nout=2, version="1.0.0")
def orders_and_shops():
    orders = pd.DataFrame({"shop": [1, 1, 2, 3], "amount": [5, 7, 11, 13]})
    shops = pd.DataFrame({"shop": [1, 2, 3], "city": ["Oslo", "Bergen", "Oslo"]})
    return Table(orders, "orders").materialize(), Table(shops, "shops_%%").materialize()


@materialize(lazy=True, input_type=sa.Table)
def shop_totals(orders: sa.Alias, shops: sa.Alias):
    totals = Table(
        sa.text(f"SELECT shop, CAST(sum(amount) AS BIGINT) AS total FROM {ref(orders)} GROUP BY shop"), name="_totals"
    ).materialize()
    query = f"SELECT s.shop, s.city, t.total FROM {ref(shops)} AS s LEFT JOIN {ref(totals)} AS t ON s.shop = t.shop"
    return Table(sa.text(query), name="shop_totals", primary_key=["shop"]).materialize()


@materialize(version="1.0.0", input_type=pd.DataFrame)
def city_totals(totals: pd.DataFrame):
    return Table(totals.groupby("city", as_index=False)["total"].sum()).materialize()


def build_flow():
    with Flow() as flow:
        with Stage("stage_1"):
            orders, shops = orders_and_shops()
        with Stage("stage_2"):
            totals = shop_totals(orders, shops)
            cities = city_totals(totals)
    return flow, totals, cities


def run(cfg):
    """Run twice on ``cfg``; return both results and the city totals."""
    with cfg:
        flow, _totals, cities = build_flow()
        first = flow.run()
        assert first.successful
        with StageLockContext():
            second = flow.run()
            assert second.successful
            frame = second.get(cities, as_type=pd.DataFrame)
    return first, second, frame


def main():
    with tempfile.TemporaryDirectory() as temp_dir:
        cfg = create_basic_pipedag_config(f"duckdb:///{temp_dir}/db.duckdb", disable_stage_locking=True).get("default")
        print(run(cfg)[2])


if __name__ == "__main__":
    main()
