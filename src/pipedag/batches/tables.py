"""The inventory's tables in the instance's metadata schema, created on first use.

* ``batch_jobs``: one row per job: its kind, source and bounds, and its position (the highest
  id it took in order). Every claim updates this row first, which serializes the claims of a
  job: PostgreSQL makes a second claimer wait for the row lock; DuckDB makes it fail with a
  conflict, and the inventory retries.
* ``batch_ranges``: one row per range of a job with its latest attempt, status and lease.
* ``batch_items``: every id a range took (primary key ``job, id``). A range remembers its ids,
  not only its bounds, so an id committed late below the position is still found (anti-join),
  and a retry takes exactly the same ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import quote
from pipedag.store.metadata import METADATA_SCHEMA

metadata = sa.MetaData(schema=METADATA_SCHEMA)

jobs = sa.Table(
    "batch_jobs",
    metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("id_min", sa.BigInteger),
    sa.Column("id_max", sa.BigInteger),
    sa.Column("position", sa.BigInteger),
    sa.Column("claims", sa.BigInteger, nullable=False),
    sa.Column("scanned_at_claim", sa.BigInteger, nullable=False),
    sa.Column("range_count", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

ranges = sa.Table(
    "batch_ranges",
    metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("range_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id_min", sa.BigInteger, nullable=False),
    sa.Column("id_max", sa.BigInteger, nullable=False),
    sa.Column("item_count", sa.BigInteger, nullable=False),
    sa.Column("weight", sa.Double, nullable=False),
    sa.Column("oversize", sa.Boolean, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker", sa.Text),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("lease_until", sa.DateTime, nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("error", sa.Text),
    sa.Column("result", sa.Text),
)

items = sa.Table(
    "batch_items",
    metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("range_id", sa.BigInteger, nullable=False),
)

# A retry reads its range's ids: an index keeps that O(batch) on a large inventory.
items_by_range = sa.Index("batch_items_by_range", items.c.job, items.c.range_id)


def ensure_tables(store: SQLTableStore) -> None:
    """Create the inventory tables unless they exist (idempotent, one transaction)."""
    with store.transaction():
        store.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(store.metadata_schema)}")
        for table in metadata.sorted_tables:
            store.execute(CreateTable(table, if_not_exists=True))
        store.execute(CreateIndex(items_by_range, if_not_exists=True))
