"""A pydiverse.pipedag "stage validation"-style program.

``check_stage`` sees the tables its stage built in this run next to the version published
before, checks them and writes a table of columns that went missing::

    python examples/pydiverse_stage_validation.py
"""

from __future__ import annotations

import logging
import tempfile

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, input_stage_versions, materialize
from pipedag.context import StageLockContext
from pipedag.core.config import create_basic_pipedag_config

extra_columns = {"colour": ["red", "green", "blue"]}


@input_stage_versions(input_type=pd.DataFrame)
def check_stage(tbls: dict[str, pd.DataFrame], other_tbls: dict[str, pd.DataFrame]):
    assert tbls["base"]["n"][0] == 7
    assert {t.lower() for t in tbls} >= {"base", "items", "scaled"}
    logging.getLogger(__name__).info("tables only in this run: %s", set(tbls) - set(other_tbls))
    rows = [
        {"table": name, "column": column, "value": "missing"}
        for name in sorted(set(tbls) & set(other_tbls))
        for column in sorted(set(other_tbls[name].columns) - set(tbls[name].columns))
    ]
    return Table(pd.DataFrame(rows, columns=["table", "column", "value"]), name="column_diffs")


@materialize(lazy=True)
def base():
    return Table(sa.select(sa.literal(7).label("n")), name="base")


@materialize(nout=1)
def items():
    return Table(pd.DataFrame({"item": [1, 2, 3], **extra_columns}), "items")


@materialize(lazy=True, input_type=sa.Table)
def scaled(base_tbl: sa.Alias, items_tbl: sa.Alias):
    return Table(sa.select((items_tbl.c.item * base_tbl.c.n).label("scaled")), name="scaled")


def build_flow():
    with Flow() as flow, Stage("stage_1"):
        b = base()
        i = items()
        _ = scaled(b, i)
        diffs = check_stage()
    return flow, diffs


def run(cfg):
    """Run, drop a column from ``items``, run again; return the second run's column differences."""
    global extra_columns
    with cfg:
        flow, diffs = build_flow()
        assert flow.run().successful
        extra_columns = {}
        try:
            with StageLockContext():
                result = flow.run()
                assert result.successful
                return result.get(diffs, as_type=pd.DataFrame)
        finally:
            extra_columns = {"colour": ["red", "green", "blue"]}


def main():
    with tempfile.TemporaryDirectory() as temp_dir:
        cfg = create_basic_pipedag_config(f"duckdb:///{temp_dir}/db.duckdb", disable_stage_locking=True).get("default")
        print(run(cfg))


if __name__ == "__main__":
    main()
