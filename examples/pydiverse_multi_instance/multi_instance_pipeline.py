"""A pydiverse.pipedag multi-instance program (full, midi, mini); only its imports say ``pipedag``.

``full`` loads its input; ``midi`` and ``mini`` copy the first rows of full's published input
stage with SQL, and notice through ``get_stage_hash`` when full published a new one::

    PIPELINE_DATA_DIR=/tmp/pipeline python multi_instance_pipeline.py full mini midi
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, input_stage_versions, materialize
from pipedag.context import StageLockContext
from pipedag.core.config import PipedagConfig

# stands in for a source system the full pipeline reads
measurements = pd.DataFrame({"station": [3, 1, 4, 1, 5], "rain": [10, 0, 25, 5, 40]})


def source_version():
    return hash(str(measurements))


@materialize(nout=2, cache=source_version, version="1.0")
def load_source():
    return Table(measurements, "rain"), Table(measurements[["station"]], "stations")


def source_stage_hash(
    tbls: dict[str, sa.Alias], other_tbls: dict[str, sa.Alias], source_cfg: ConfigContext, *, attrs, stage
):
    with source_cfg:
        return source_cfg.store.table_store.get_stage_hash(stage)


@input_stage_versions(input_type=sa.Table, cache=source_stage_hash, pass_args=["attrs", "stage"], lazy=True)
def copy_sample(
    tbls: dict[str, sa.Alias], source_tbls: dict[str, sa.Alias], source_cfg: ConfigContext, *, attrs, stage
):
    n = attrs["copy_filter_cnt"]
    return {name.lower(): Table(sa.select(tbl).limit(n), name) for name, tbl in source_tbls.items()}


@materialize(input_type=pd.DataFrame, version="1.0")
def doubled(df: pd.DataFrame):
    return Table(df.transform(lambda col: col * 2))


def get_flow(attrs: dict[str, Any], pipedag_config: PipedagConfig):
    with Flow("rain_pipeline") as flow:
        with Stage("stage_1") as stage:
            if not attrs["copy_filtered_input"]:
                rain, stations = load_source()
            else:
                source_cfg = pipedag_config.get(attrs["copy_source"], attrs["copy_per_user"])
                tbls = copy_sample(source_cfg, stage=stage, attrs=attrs)
                rain, stations = tbls["rain"], tbls["stations"]
            rain2 = doubled(rain)
        with Stage("stage_2"):
            stations2 = doubled(stations)
            rain4 = doubled(rain2)
    return flow, stations2, rain4


def run_instance(pipedag_config: PipedagConfig, instance: str):
    """Run one instance; return its result and the two checked outputs as frames."""
    cfg = pipedag_config.get(instance=instance)
    flow, stations2, rain4 = get_flow(cfg.attrs, pipedag_config)
    with StageLockContext():
        result = flow.run(config=cfg)
        assert result.successful
        return result, result.get(stations2), result.get(rain4)


if __name__ == "__main__":
    config = PipedagConfig(Path(__file__).parent / "pipedag.yaml")
    for name in sys.argv[1:] or ["full", "mini"]:
        _, _, out = run_instance(config, name)
        print(name, out, sep="\n")
