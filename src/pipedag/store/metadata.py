"""Tables of pipedag's own metadata schema, declared once with SQLAlchemy Core.

Change tracking uses monotonic run ids, never wall clocks: a stage version *is* the run id
that published it. Timestamps are kept for people only.
"""

from __future__ import annotations

import sqlalchemy as sa

METADATA_SCHEMA = "pipedag_metadata"

metadata = sa.MetaData(schema=METADATA_SCHEMA)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("flow", sa.Text, nullable=False),
    sa.Column("instance_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
)

stage_versions = sa.Table(
    "stage_versions",
    metadata,
    sa.Column("stage", sa.Text, primary_key=True),
    sa.Column("run_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("published_at", sa.DateTime, nullable=False),
)

task_records = sa.Table(
    "task_records",
    metadata,
    sa.Column("stage", sa.Text, primary_key=True),
    sa.Column("run_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("task", sa.Text, primary_key=True),
    sa.Column("cache_key", sa.Text, nullable=False),
    sa.Column("ingredients", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
)

# Run history: one row per task per run, written with one multi-row insert when the run ends
# (in the same transaction as the run's final status), so keeping history costs one statement.
task_runs = sa.Table(
    "task_runs",
    metadata,
    sa.Column("run_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("row_count", sa.BigInteger),
    sa.Column("seconds", sa.Float, nullable=False),
)
