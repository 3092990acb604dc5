"""AUTO_VERSION: a polars task reruns exactly when its plan or its inputs change."""

from __future__ import annotations

from typing import Any

import pytest

from pipedag import AUTO_VERSION, CacheError, ConfigContext, Flow, Stage, Table, TaskState, WiringError, materialize


def _flow(transform: Any, data: list[int]) -> Flow:
    import polars as pl

    @materialize(version=str(data))
    def source() -> Any:
        return pl.DataFrame({"a": data, "b": [str(v) for v in data]})

    with Flow("auto") as flow, Stage("s"):
        transform(source())
    return flow


def _task(threshold: int, calls: list[int]) -> Any:
    import polars as pl

    @materialize(name="transform", version=AUTO_VERSION, input_type=pl.LazyFrame)
    def transform(tbl: Any) -> Any:
        calls.append(1)
        return Table(tbl.filter(pl.col("a") > threshold).with_columns(c=pl.col("b") + "!"), "filtered")

    return transform


def _state(flow: Flow, config: ConfigContext) -> TaskState:
    result = flow.run(config=config)
    assert result.successful
    return result.task_states["s.transform"]


def test_reruns_only_when_the_plan_changes(duckdb_config: ConfigContext) -> None:
    """Same plan (even from a new function object): cache hit; a changed literal: rerun on real data."""
    calls: list[int] = []
    assert _state(_flow(_task(1, calls), [1, 2, 3]), duckdb_config) is TaskState.RAN
    assert len(calls) == 2  # once on empty inputs for the plan, once on real data
    calls.clear()
    assert _state(_flow(_task(1, calls), [1, 2, 3]), duckdb_config) is TaskState.CACHE_VALID
    assert len(calls) == 1  # the plan only
    calls.clear()
    assert _state(_flow(_task(2, calls), [1, 2, 3]), duckdb_config) is TaskState.RAN
    assert len(calls) == 2


def test_reruns_when_the_input_changes(duckdb_config: ConfigContext) -> None:
    """An unchanged plan over changed input data reruns."""
    calls: list[int] = []
    _state(_flow(_task(1, calls), [1, 2, 3]), duckdb_config)
    assert _state(_flow(_task(1, calls), [1, 2, 4]), duckdb_config) is TaskState.RAN


def test_plan_sees_the_real_schema(duckdb_config: ConfigContext) -> None:
    """The empty inputs carry the stored schema, so schema-dependent code builds its plan."""
    import polars as pl

    @materialize(name="transform", version=AUTO_VERSION, input_type=pl.LazyFrame)
    def transform(tbl: Any) -> Any:
        schema = tbl.collect_schema()
        assert schema["a"] == pl.Int64 and schema["b"] == pl.String
        return tbl.select(pl.col(name) for name in schema.names() if schema[name] == pl.Int64)

    flow = _flow(transform, [5])
    result = flow.run(config=duckdb_config)
    assert result.successful


def test_requires_lazyframe_input_type() -> None:
    """AUTO_VERSION on a pandas task is a clear WiringError when the task is decorated."""
    import pandas as pd

    with pytest.raises(WiringError, match=r"AUTO_VERSION\) on .*transform: needs input_type=polars.LazyFrame"):

        @materialize(name="transform", version=AUTO_VERSION, input_type=pd.DataFrame)
        def transform(tbl: Any) -> Any:
            return tbl


def test_rejects_collected_results(duckdb_config: ConfigContext) -> None:
    """A task returning a collected DataFrame fails with the fix (return a LazyFrame)."""
    import polars as pl

    @materialize(name="transform", version=AUTO_VERSION, input_type=pl.LazyFrame)
    def transform(tbl: Any) -> Any:
        return tbl.collect()

    with pytest.raises(CacheError, match=r"got a polars DataFrame"):
        _flow(transform, [1]).run(config=duckdb_config)


def test_python_udfs_fall_back_to_the_code(duckdb_config: ConfigContext) -> None:
    """A plan with a Python UDF also hashes the task's code, so editing the UDF reruns."""
    import polars as pl

    def make(offset: int) -> Any:
        @materialize(name="transform", version=AUTO_VERSION, input_type=pl.LazyFrame)
        def transform(tbl: Any) -> Any:
            return tbl.with_columns(d=pl.col("a").map_batches(lambda s: s + offset, return_dtype=pl.Int64))

        return transform

    _state(_flow(make(1), [1]), duckdb_config)
    assert _state(_flow(make(1), [1]), duckdb_config) is TaskState.CACHE_VALID
    assert _state(_flow(make(2), [1]), duckdb_config) is TaskState.RAN


def _literal_flow(values: list[int], swapped: bool = False) -> tuple[Flow, Any]:
    import polars as pl

    @materialize(name="literal", version=AUTO_VERSION, input_type=pl.LazyFrame)
    def literal() -> Any:
        first, second = pl.LazyFrame({"col": values}), pl.LazyFrame({"col": [v * 10 for v in values]})
        if swapped:
            first, second = second, first
        return {"first": Table(first, "first"), "second": Table(second, "second")}

    with Flow("auto_literal") as flow, Stage("s"):
        out = literal()
    return flow, out


def test_data_of_in_memory_frames_is_part_of_the_version(store_config: ConfigContext) -> None:
    """A LazyFrame built from different literal data reruns and stores the new rows."""
    import polars as pl

    _literal_flow([1, 2, 3, 4])[0].run(store_config)
    assert _literal_flow([1, 2, 3, 4])[0].run(store_config).task_states["s.literal"] is TaskState.CACHE_VALID
    flow, out = _literal_flow([4, 3, 2, 1])
    result = flow.run(store_config)
    assert result.task_states["s.literal"] is TaskState.RAN
    assert result.get(out["first"], as_type=pl.DataFrame)["col"].to_list() == [4, 3, 2, 1]


def test_swapped_outputs_rerun(store_config: ConfigContext) -> None:
    """Swapping two in-memory outputs between names is not a cache hit."""
    import polars as pl

    _literal_flow([1, 2])[0].run(store_config)
    flow, out = _literal_flow([1, 2], swapped=True)
    result = flow.run(store_config)
    assert result.task_states["s.literal"] is TaskState.RAN
    assert result.get(out["first"], as_type=pl.DataFrame)["col"].to_list() == [10, 20]


def test_swapped_inputs_rerun(duckdb_config: ConfigContext) -> None:
    """Returning two input tables under each other's names is not a cache hit, though their schemas match."""
    import polars as pl

    def build(swapped: bool) -> tuple[Flow, Any]:
        @materialize(version="1")
        def x() -> Any:
            return pl.DataFrame({"a": [1]})

        @materialize(version="1")
        def y() -> Any:
            return pl.DataFrame({"a": [2]})

        @materialize(name="pick", version=AUTO_VERSION, input_type=pl.LazyFrame)
        def pick(x: Any, y: Any) -> Any:
            return {"left": Table(y if swapped else x, "left"), "right": Table(x if swapped else y, "right")}

        with Flow("auto_swap") as flow, Stage("s"):
            out = pick(x(), y())
        return flow, out

    build(False)[0].run(duckdb_config)
    flow, out = build(True)
    result = flow.run(duckdb_config)
    assert result.task_states["s.pick"] is TaskState.RAN
    assert result.get(out["left"], as_type=pl.DataFrame)["a"].to_list() == [2]


def test_unserializable_plan_with_embedded_data_runs_every_time(duckdb_config: ConfigContext) -> None:
    """A plan with an unpicklable Python function over in-memory data cannot be fingerprinted: it runs, saying why."""
    import threading

    import polars as pl

    lock = threading.Lock()  # no pickler can serialize a closure holding it

    @materialize(name="udf", version=AUTO_VERSION, input_type=pl.LazyFrame)
    def udf() -> Any:
        frame = pl.LazyFrame({"a": [1, 2]})
        return frame.with_columns(b=pl.col("a").map_batches(lambda s: s + (1 if lock else 0), return_dtype=pl.Int64))

    with Flow("auto_udf") as flow, Stage("s"):
        udf()
    flow.run(duckdb_config)
    outcome = flow.run(duckdb_config).outcomes[0]
    assert outcome.state is TaskState.RAN
    assert outcome.reason.startswith("AUTO_VERSION cannot fingerprint")


def test_udf_plan_with_changed_embedded_data_reruns(duckdb_config: ConfigContext) -> None:
    """A plan with a Python function over in-memory data reruns when that data changes (with or without cloudpickle)."""
    import polars as pl

    def build(values: list[int]) -> tuple[Flow, Any]:
        @materialize(name="udf", version=AUTO_VERSION, input_type=pl.LazyFrame)
        def udf() -> Any:
            frame = pl.LazyFrame({"a": values})
            return frame.with_columns(b=pl.col("a").map_batches(lambda s: s + 1, return_dtype=pl.Int64))

        with Flow("auto_udf_data") as flow, Stage("s"):
            out = udf()
        return flow, out

    build([1, 2])[0].run(duckdb_config)
    flow, out = build([5, 6])
    result = flow.run(duckdb_config)
    assert result.task_states["s.udf"] is TaskState.RAN
    assert result.get(out, as_type=pl.DataFrame)["b"].to_list() == [6, 7]
