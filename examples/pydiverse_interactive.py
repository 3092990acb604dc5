"""A pydiverse.pipedag "interactive development"-style program: fixing a table inside a task.

The task materializes a table, fails, fixes it and materializes the same name again, as one
would at a debugger breakpoint. In pipedag the last materialization of a name wins and the
run succeeds (pydiverse.pipedag aborts such a run as "tainted"; see docs/porting.md). The
database error arrives as a pipedag ``TaskError``, never as a raw driver error::

    python examples/pydiverse_interactive.py
"""

from __future__ import annotations

import logging
import tempfile

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, TaskError, materialize
from pipedag.context import StageLockContext
from pipedag.core.config import create_basic_pipedag_config


@materialize(lazy=True)
def fixed_in_place():
    try:
        Table(sa.text("SELEKT 1 AS a"), name="tbl").materialize()
    except TaskError:
        logging.getLogger(__name__).info("caught the expected SQL error", exc_info=True)
    tbl = Table(sa.text("SELECT 'not yet' AS a"), name="tbl").materialize()
    Table(sa.text("SELECT 3 AS a")).materialize()
    Table(sa.text("SELECT 4 AS a"), name="tbl2").materialize()
    tbl = Table(sa.text("SELECT 'done' AS a"), name="tbl").materialize()
    return tbl


def run(cfg):
    """Run the flow on ``cfg``; return the task's table and the extra table ``tbl2``."""
    with cfg:
        with Flow() as flow, Stage("stage_1"):
            out = fixed_in_place()
        with StageLockContext():
            result = flow.run()
            assert result.successful
            extra = cfg.store.table_store.execute(
                f'SELECT a FROM "{cfg.schema_prefix}stage_1{cfg.schema_suffix}".tbl2'
            )
            return result.get(out, as_type=pd.DataFrame), extra


def main():
    with tempfile.TemporaryDirectory() as temp_dir:
        cfg = create_basic_pipedag_config(f"duckdb:///{temp_dir}/db.duckdb", disable_stage_locking=True).get("default")
        print(run(cfg))


if __name__ == "__main__":
    main()
