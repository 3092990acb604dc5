"""Smaller parts of pydiverse.pipedag's API that pipedag accepts: tables, blobs, input types, stages, runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import (
    Blob,
    CacheValidationMode,
    ColumnError,
    ConfigContext,
    Flow,
    GroupNode,
    PandasArrowDataFrame,
    PipedagConfig,
    Stage,
    Table,
    TaskState,
    VisualizationStyle,
    WiringError,
    create_basic_pipedag_config,
    input_stage_versions,
    materialize,
)
from pipedag.cli.visualize import flow_to_dot
from pipedag.core.config import create_basic_pipedag_config as from_core_config


@materialize(version="1")
def people():
    frame = pd.DataFrame({"id": [1, 2], "name": ["a", None], "age": [3, 4]})
    return Table(frame, "people", nullable=["name"])


@materialize(version="1")
def pets():
    return Table(pd.DataFrame({"id": [1], "kind": [None]}), "pets", non_nullable=["id"])


def is_nullable(cfg: ConfigContext, table: str) -> dict[str, str]:
    schema = f"{cfg.schema_prefix}s{cfg.schema_suffix}"
    sql = (
        "SELECT column_name, is_nullable FROM information_schema.columns c JOIN information_schema.tables t "
        "USING (table_schema, table_name) WHERE table_schema = '{schema}__pipedag' AND table_name LIKE '{table}__%'"
    )
    with cfg:
        rows = cfg.store.table_store.execute(sql.format(schema=schema, table=table))
    return dict(rows)


def test_nullable_and_non_nullable_declare_not_null(store_config: ConfigContext) -> None:
    """nullable=[...] makes every other column NOT NULL; non_nullable=[...] makes just those NOT NULL."""
    with Flow("constraints") as flow, Stage("s"):
        people()
        pets()
    assert flow.run(config=store_config).successful
    assert is_nullable(store_config, "people") == {"id": "NO", "name": "YES", "age": "NO"}
    assert is_nullable(store_config, "pets") == {"id": "NO", "kind": "YES"}


def test_nullable_naming_an_unknown_column_fails(duckdb_config: ConfigContext) -> None:
    """A nullable list naming a column the table lacks is a ColumnError."""

    @materialize(version="1")
    def bad():
        return Table(pd.DataFrame({"a": [1]}), "t", nullable=["b"])

    with Flow("bad") as flow, Stage("s"):
        bad()
    with pytest.raises(ColumnError, match=r"\['b'\]"):
        flow.run(config=duckdb_config)


def test_type_map_is_refused() -> None:
    """Table(type_map=...) is a WiringError telling to cast the columns instead."""
    with pytest.raises(WiringError, match="cast"):
        Table(pd.DataFrame(), "t", type_map={"a": sa.Integer()})


@materialize(version="1", nout=2)
def model():
    return Blob({"weights": [1, 2]}), Blob({"bias": 3})


@materialize(version="1", input_type=(pd.DataFrame, "arrow"))
def arrow_typed(df: pd.DataFrame) -> dict[str, Any]:
    return {"dtype": str(df["id"].dtype), "name": df.attrs["name"]}


@materialize(version="1", input_type=(pd.DataFrame, "numpy"))
def numpy_typed(df: pd.DataFrame) -> dict[str, Any]:
    return {"dtype": str(df["id"].dtype), "name": df.attrs["name"]}


def test_unnamed_blobs_input_type_tuples_and_frame_names(duckdb_config: ConfigContext) -> None:
    """Blob(obj) is named after its task; (pd.DataFrame, 'arrow'|'numpy') pick dtypes; attrs['name'] is set."""
    with Flow("api") as flow, Stage("s"):
        weights, bias = model()
        tbl = people()
        as_arrow = arrow_typed(tbl)
        as_numpy = numpy_typed(tbl)
    result = flow.run(config=duckdb_config)
    assert result.get(weights) == {"weights": [1, 2]} and result.get(bias) == {"bias": 3}
    assert [b.name for b in result.outcomes[0].outputs] == ["model_0", "model_1"]
    assert result.get(as_arrow) == {"dtype": "int64[pyarrow]", "name": "people"}
    assert result.get(as_numpy) == {"dtype": "int64", "name": "people"}
    assert arrow_typed.input_type is PandasArrowDataFrame


def test_bad_input_type_tuple_is_a_wiring_error() -> None:
    """An input_type tuple other than (pandas.DataFrame, 'numpy'|'arrow') fails at decoration."""
    with pytest.raises(WiringError, match="tuple form"):
        materialize(input_type=(pd.DataFrame, "polars"))(lambda df: df)


@materialize(version="1")
def describe(stage: Stage, cfg: ConfigContext, config: PipedagConfig) -> dict[str, Any]:
    return {"stage": stage.name, "instance": cfg.instance_id, "pipeline": config.name}


def test_stage_and_configs_are_task_arguments(tmp_path: Path) -> None:
    """Stage, ConfigContext and PipedagConfig arguments reach the task and enter its cache key."""
    pc = create_basic_pipedag_config(f"duckdb:///{tmp_path}/a.duckdb", name="one")
    cfg = pc.get()

    def build(config: PipedagConfig) -> tuple[Flow, Any]:
        with Flow("args") as flow, Stage("s") as stage:
            out = describe(stage, cfg, config)
        return flow, out

    flow, out = build(pc)
    assert flow.run(config=cfg).get(out) == {"stage": "s", "instance": "default", "pipeline": "one"}
    flow, out = build(pc)
    assert flow.run(config=cfg).task_states["s.describe"] is TaskState.CACHE_VALID
    other = create_basic_pipedag_config(f"duckdb:///{tmp_path}/a.duckdb", name="two")
    flow, out = build(other)
    result = flow.run(config=cfg)
    assert result.task_states["s.describe"] is TaskState.RAN and result.get(out)["pipeline"] == "two"


@materialize
def stamp(label: str) -> str:
    return label


def test_flow_indexing_and_partial_runs(duckdb_config: ConfigContext) -> None:
    """flow['s2'] and flow.get_stage find stages; flow.run(stage or task output) runs only that stage."""
    with Flow("partial") as flow:
        with Stage("s1", materialization_details="ignored"):
            first = stamp("one")
        with Stage("s2"):
            second = stamp("two")
    assert flow["s2"] is flow.get_stage("S2") and flow["s1"].materialization_details == "ignored"
    with pytest.raises(KeyError, match="s1, s2"):
        flow["s3"]
    flow.run(config=duckdb_config)
    only = flow.run(flow["s2"], config=duckdb_config)
    assert set(only.task_states) == {"s2.stamp"}
    by_output = flow.run(duckdb_config, first)
    assert set(by_output.task_states) == {"s1.stamp"}
    with pytest.raises(WiringError, match="pass stages"):
        flow.run(42, config=duckdb_config)
    _ = second


def test_cache_validation_mode_enum_is_accepted(duckdb_config: ConfigContext) -> None:
    """flow.run(cache_validation=CacheValidationMode.FORCE_CACHE_INVALID) reruns a cache-valid task."""
    with Flow("modes") as flow, Stage("s"):
        people()
    flow.run(config=duckdb_config)
    result = flow.run(config=duckdb_config, cache_validation=CacheValidationMode.FORCE_CACHE_INVALID)
    assert result.task_states["s.people"] is TaskState.RAN


def cache_seen(tbls: Any, other: Any, *args: Any, **kwargs: Any) -> list[str]:
    return sorted(kwargs)


@input_stage_versions(version="1", cache=cache_seen, pass_args=["keep"], ordering_barrier=True)
def validate(tbls: Any, other: Any, *, keep: int, drop: int) -> dict[str, Any]:
    return {"tables": sorted(tbls), "keep": keep, "drop": drop}


def test_pass_args_limits_what_the_cache_function_gets(duckdb_config: ConfigContext) -> None:
    """With pass_args=['keep'] the cache function receives only that keyword; the task receives all."""
    with Flow("versions") as flow, Stage("s"):
        people()
        out = validate(keep=1, drop=2)
    result = flow.run(config=duckdb_config)
    assert result.get(out) == {"tables": ["people"], "keep": 1, "drop": 2}
    assert cache_seen(None, None, **validate.cache_kwargs({"keep": 1, "drop": 2})) == ["keep"]


def test_group_nodes_draw_boxes(duckdb_config: ConfigContext) -> None:
    """GroupNode around stages or tasks becomes a labelled box in the flow picture."""
    with Flow("groups") as flow:
        with GroupNode("inputs", style=VisualizationStyle(box_color_always="#123456")), Stage("s1"):
            stamp("a")
        with Stage("s2"):
            with GroupNode("pair"):
                stamp("b")
                stamp("c")
            stamp("d")
    dot = flow_to_dot(flow, {})
    assert 'label="inputs"; style=dashed; color="#123456"' in dot
    assert dot.index('label="pair"') < dot.index('"s2.stamp_2"') < dot.index('"s2.stamp_3"')
    assert flow.run(config=duckdb_config).successful


def test_core_config_module_and_disable_stage_locking(tmp_path: Path) -> None:
    """pipedag.core.config offers create_basic_pipedag_config; disable_stage_locking turns the lock off."""
    cfg = from_core_config(
        f"duckdb:///{tmp_path}/x.duckdb", disable_stage_locking=True, blob_directory=tmp_path / "b", instance_id="i"
    ).get("default")
    assert cfg.lock_manager == "none" and cfg.instance_id == "i"
    assert cfg.blob_store_args["base_path"] == str(tmp_path / "b")
    assert from_core_config is create_basic_pipedag_config


def test_container_module_reexports_the_wrappers() -> None:
    """pipedag.container offers Table, Blob, RawSql and ExternalTableReference, as the peer's module does."""
    import pipedag
    from pipedag import container

    assert all(getattr(container, name) is getattr(pipedag, name) for name in container.__all__)


def test_peer_run_options_for_cache_validation(duckdb_config: ConfigContext) -> None:
    """flow.run(cache_validation_mode=..., ignore_task_version=...) act like the config's cache_validation."""
    with Flow("peer_modes") as flow, Stage("s"):
        people()
    flow.run(config=duckdb_config)
    forced = flow.run(config=duckdb_config, cache_validation_mode=CacheValidationMode.FORCE_CACHE_INVALID)
    assert forced.task_states["s.people"] is TaskState.RAN
    ignoring = flow.run(config=duckdb_config, ignore_task_version=True, disable_cache_function=True)
    assert "ignore_task_version" in ignoring.outcomes[0].reason
