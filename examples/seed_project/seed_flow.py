"""The seed project's flow: raw data, a per-instance sample, features in SQL, a report in pandas.

Instances differ only in ``attrs.sample_every`` (see pipedag.yaml): mini keeps one customer in
a hundred, midi one in ten, full all of them. Run it with the CLI::

    pipedag run seed_flow.py:build_flow --instance mini
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, TaskOutput, materialize
from pipedag.config.context import active_config

CUSTOMERS = 20_000
ORDERS = 200_000


@materialize(version="1.0", nout=2)
def load_raw() -> tuple[Table, Table]:
    """Synthetic source data (a fixed seed, so every run produces the same tables)."""
    rng = np.random.default_rng(42)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(CUSTOMERS),
            "segment": rng.choice(["retail", "business", "public"], CUSTOMERS, p=[0.7, 0.25, 0.05]),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(ORDERS),
            "customer_id": rng.integers(0, CUSTOMERS, ORDERS),
            "amount": rng.gamma(2.0, 30.0, ORDERS).round(2),
        }
    )
    return Table(customers, "customers", primary_key="customer_id"), Table(orders, "orders")


@materialize(lazy=True, nout=2)
def sample(customers: sa.Alias, orders: sa.Alias, every: int) -> tuple[Table, Table]:
    """Keep one customer in ``every`` and their orders (``every=1`` keeps everything)."""
    kept = sa.select(customers).where(customers.c.customer_id % every == 0)
    kept_orders = sa.select(orders).where(orders.c.customer_id % every == 0)
    return Table(kept, "customers"), Table(kept_orders, "orders")


@materialize(lazy=True)
def customer_features(customers: sa.Alias, orders: sa.Alias) -> Table:
    """Orders and revenue per customer, computed inside the database."""
    query = (
        sa.select(
            customers.c.customer_id,
            customers.c.segment,
            sa.func.count(orders.c.order_id).label("orders"),
            sa.func.coalesce(sa.func.sum(orders.c.amount), 0).label("revenue"),
        )
        .join_from(customers, orders, customers.c.customer_id == orders.c.customer_id, isouter=True)
        .group_by(customers.c.customer_id, customers.c.segment)
    )
    return Table(query, "customer_features")


@materialize(version="1.0")
def segment_report(features: pd.DataFrame) -> Table:
    """Customers, revenue and revenue per customer by segment."""
    report = (
        features.groupby("segment", as_index=False)
        .agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
        .assign(revenue_per_customer=lambda d: (d.revenue / d.customers).round(2))
        .sort_values("segment")
    )
    return Table(report, "segment_report")


def wire(attrs: Mapping[str, Any] | None = None) -> tuple[Flow, dict[str, TaskOutput]]:
    """Wire the flow for an instance's attrs (by default those of the active instance).

    Returns:
        The flow and the outputs tests read back with ``result.get(...)``.
    """
    if attrs is None:
        config = active_config()
        attrs = config.attrs if config is not None else {"sample_every": 1}
    with Flow("seed") as flow:
        with Stage("raw"):
            customers, orders = load_raw()
        with Stage("sampled"):
            customers, orders = sample(customers, orders, int(attrs["sample_every"]))
        with Stage("features"):
            features = customer_features(customers, orders)
            report = segment_report(features)
    return flow, {"customer_features": features, "segment_report": report}


def build_flow(attrs: Mapping[str, Any] | None = None) -> Flow:
    """The flow alone (what ``pipedag run seed_flow.py:build_flow`` calls)."""
    return wire(attrs)[0]
