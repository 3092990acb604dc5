"""full / midi / mini: one flow, three instances from the repo-root pipedag.yaml.

``full`` builds its inputs; ``midi`` and ``mini`` copy a filtered sample of full's committed
inputs (the first N customers and their orders) with SQL, then run the same code on it::

    python examples/instances.py full
    python examples/instances.py mini
    python examples/instances.py mini_pg   # the same on PostgreSQL
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, PipedagConfig, Stage, Table, input_stage_versions, materialize


@materialize(version="1.0")
def load_inputs(customers: int) -> dict[str, Table]:
    """All the data (here generated; in real life read from files or a source database)."""
    rng = np.random.default_rng(42)
    people = pd.DataFrame({"id": np.arange(customers), "segment": rng.choice(["a", "b", "c"], customers)})
    orders = pd.DataFrame(
        {"customer_id": rng.integers(0, customers, customers * 5), "amount": rng.gamma(2.0, 30.0, customers * 5)}
    )
    return {"customers": Table(people, "customers", primary_key="id"), "orders": Table(orders, "orders")}


@input_stage_versions(input_type=sa.Table, version="1.0")
def copy_filtered_inputs(
    tables: dict[str, sa.Alias], full: dict[str, sa.Alias], source: ConfigContext, customers: int
) -> dict[str, Table]:
    """A sample of full's committed inputs: the first ``customers`` customers and their orders."""
    people, orders = full["customers"], full["orders"]
    chosen = sa.select(people.c.id).order_by(people.c.id).limit(customers)
    return {
        "customers": Table(sa.select(people).where(people.c.id.in_(chosen)), "customers", primary_key="id"),
        "orders": Table(sa.select(orders).where(orders.c.customer_id.in_(chosen)), "orders"),
    }


@materialize(lazy=True)
def revenue_by_segment(customers: sa.Alias, orders: sa.Alias) -> Table:
    """Revenue and order count per customer segment, computed inside the database."""
    joined = orders.join(customers, orders.c.customer_id == customers.c.id)
    query = (
        sa.select(customers.c.segment, sa.func.sum(orders.c.amount).label("revenue"), sa.func.count().label("orders"))
        .select_from(joined)
        .group_by(customers.c.segment)
    )
    return Table(query, "revenue_by_segment")


def build_flow(cfg: ConfigContext, config: PipedagConfig) -> tuple[Flow, object]:
    """The flow of an instance: full loads its inputs, the others copy them from their source instance."""
    with Flow("example_pipeline") as flow:
        with Stage("inputs"):
            if "copy_from" in cfg.attrs:
                source = config.get(cfg.attrs["copy_from"], per_user=cfg.per_user)
                raw = copy_filtered_inputs(source, cfg.attrs["sample_customers"])
            else:
                raw = load_inputs(cfg.attrs["customers"])
        with Stage("features"):
            revenue = revenue_by_segment(raw["customers"], raw["orders"])
    return flow, revenue


if __name__ == "__main__":
    config = PipedagConfig.default
    cfg = config.get(sys.argv[1] if len(sys.argv) > 1 else "mini")
    flow, revenue = build_flow(cfg, config)
    result = flow.run(config=cfg)
    assert result.successful
    print(result.get(revenue))  # type: ignore[arg-type]
