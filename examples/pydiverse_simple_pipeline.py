"""A pydiverse.pipedag "simple pipeline"-style program: lazy SQL and eager pandas tasks in three stages.

It runs the flow twice (the second time everything is cache-valid) and reads a result inside
a ``StageLockContext``::

    python examples/pydiverse_simple_pipeline.py
"""

from __future__ import annotations

import tempfile

import pandas as pd
import sqlalchemy as sa

from pipedag import Flow, Stage, Table, materialize
from pipedag.context import StageLockContext
from pipedag.core.config import create_basic_pipedag_config


@materialize(lazy=True)
def constants():
    return sa.select(sa.literal(1).label("k"), sa.literal(10).label("scale"))


@materialize(lazy=True, input_type=sa.Table)
def scaled(consts: sa.Alias, readings: sa.Alias):
    query = sa.select((consts.c.scale * readings.c.value).label("scaled"), readings.c.sensor).select_from(
        consts.outerjoin(readings, readings.c.k == consts.c.k)
    )
    return Table(query, name="scaled_readings", primary_key=["sensor"])


@materialize(lazy=True, input_type=sa.Table)
def copy_of(tbl: sa.Alias):
    return sa.text(f'SELECT * FROM "{tbl.original.schema}"."{tbl.original.name}"')


@materialize(nout=2, version="1.0.0")
def raw_inputs():
    sensors = pd.DataFrame({"sensor": [10, 11, 12], "room": ["hall", "lab", "attic"]})
    readings = pd.DataFrame({"sensor": [10, 11, 12], "k": [1, 1, 2], "value": [3, 4, 5]})
    return Table(sensors, "sensors"), Table(readings, "readings_%%")


@materialize(version="1.0.0", input_type=pd.DataFrame)
def joined(consts: pd.DataFrame, readings: pd.DataFrame):
    return consts.merge(readings, on="k")


def build_flow():
    with Flow() as flow:
        with Stage("stage_1"):
            consts = constants()
            sensors, readings = raw_inputs()
        with Stage("stage_2"):
            scaled_tbl = scaled(consts, readings)
            copied = copy_of(scaled_tbl)
            merged = joined(consts, readings)
        with Stage("stage_3"):
            copied_again = copy_of(scaled_tbl)
        _ = sensors, copied, merged, copied_again
    return flow, consts, merged


def run(cfg):
    """Run the flow twice on ``cfg``; return both results and the merged frame of the second run."""
    with cfg:
        flow, consts, merged = build_flow()
        first = flow.run()
        assert first.successful
        with StageLockContext():
            second = flow.run()
            assert second.successful
            assert second.get(consts, as_type=pd.DataFrame)["scale"][0] == 10
            frame = second.get(merged, as_type=pd.DataFrame)
    return first, second, frame


def main():
    with tempfile.TemporaryDirectory() as temp_dir:
        cfg = create_basic_pipedag_config(f"duckdb:///{temp_dir}/db.duckdb", disable_stage_locking=True).get("default")
        print(run(cfg)[2])


if __name__ == "__main__":
    main()
