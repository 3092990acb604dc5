"""Frames round-trip faithfully through every store or are refused with a ColumnError naming the column."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, materialize
from pipedag.errors import ColumnError


def _store(config: ConfigContext, make: Callable[[], Any], as_type: Any = pd.DataFrame) -> Any:
    @materialize(version=None)
    def produce() -> Any:
        return Table(make(), "t")

    with Flow("f") as flow, Stage("s"):
        out = produce()
    return flow.run(config=config).get(out, as_type=as_type)


def _refused(config: ConfigContext, make: Callable[[], Any]) -> str:
    with pytest.raises(Exception) as info:
        _store(config, make)
    cause: BaseException | None = info.value
    while cause is not None and not isinstance(cause, ColumnError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, ColumnError), f"expected a ColumnError, got {info.value!r}"
    return str(info.value)


def test_duplicate_column_names_are_refused_by_name(store_config: ConfigContext) -> None:
    """A frame with two columns named 'a' fails with a ColumnError naming 'a', not a KeyError."""
    message = _refused(store_config, lambda: pd.DataFrame([[1, 2]], columns=["a", "a"]))
    assert "duplicate column names 'a'" in message


def test_zero_column_frame_is_refused(store_config: ConfigContext) -> None:
    """A frame without columns fails with a clear error instead of a COPY syntax error."""
    message = _refused(store_config, lambda: pd.DataFrame(index=[0, 1]))
    assert "has no columns" in message


@pytest.mark.parametrize("name", ["", "a\x00b"])
def test_empty_or_nul_column_names_are_refused(store_config: ConfigContext, name: str) -> None:
    """An empty column name or one with a NUL character is refused by name (not renamed to v0, no float16 advice)."""
    message = _refused(store_config, lambda: pd.DataFrame({name: [1]}))
    assert f"column named {name!r}" in message and "float16" not in message


def test_columns_differing_only_in_case(store_config: ConfigContext, backend: str) -> None:
    """Columns `A` and `a` come back as they are (PostgreSQL) or are refused (DuckDB folds case)."""
    frame = pd.DataFrame({"A": [1], "a": [2]})
    if backend == "duckdb":
        assert "'A' and 'a'" in _refused(store_config, lambda: frame)
    else:
        pd.testing.assert_frame_equal(_store(store_config, lambda: frame), frame)


def test_period_columns_are_refused(store_config: ConfigContext) -> None:
    """A pandas period column is refused instead of coming back as int64."""
    message = _refused(store_config, lambda: pd.DataFrame({"p": pd.period_range("2020-01", periods=2, freq="M")}))
    assert "'p'" in message and "period" in message


def test_dict_columns_with_differing_keys_are_refused(store_config: ConfigContext) -> None:
    """Dicts with differing keys are refused instead of coming back padded with None keys."""
    message = _refused(store_config, lambda: pd.DataFrame({"d": [{"a": 1}, {"b": 2}]}))
    assert "'d'" in message and "json" in message.lower()


def test_timedeltas_round_trip_as_timedeltas(store_config: ConfigContext) -> None:
    """A timedelta column comes back as timedeltas with the same values, not DateOffset objects."""
    frame = pd.DataFrame({"t": pd.to_timedelta([1.5, None, 86_401], unit="s")})
    back = _store(store_config, lambda: frame)
    assert pd.api.types.is_timedelta64_dtype(back["t"])
    assert back["t"].tolist()[0] == pd.Timedelta(seconds=1.5) and pd.isna(back["t"][1])
    assert back["t"].tolist()[2] == pd.Timedelta(days=1, seconds=1)


def test_sub_microsecond_timedeltas_are_refused(store_config: ConfigContext) -> None:
    """A timedelta with nanoseconds is refused instead of losing digits."""
    message = _refused(store_config, lambda: pd.DataFrame({"t": pd.to_timedelta([1], unit="ns")}))
    assert "'t'" in message and "microsecond" in message


def test_decimals_come_back_as_decimals(store_config: ConfigContext) -> None:
    """Decimal columns (typed, and bare NUMERIC from SQL) come back as decimals, never as strings."""
    typed = pa.table({"x": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2))})
    back = _store(store_config, lambda: typed, as_type=pa.Table)
    assert back.schema.field("x").type == pa.decimal128(5, 2)
    assert back.column("x").to_pylist() == [decimal.Decimal("1.50"), None]

    @materialize(lazy=True)
    def bare() -> Any:
        return Table(sa.select(sa.cast(sa.literal("12.345"), sa.Numeric).label("x")), "bare")

    with Flow("f") as flow, Stage("s"):
        out = bare()
    value = flow.run(config=store_config).get(out, as_type=pd.DataFrame)["x"][0]
    assert isinstance(value, decimal.Decimal) and value == decimal.Decimal("12.345")
