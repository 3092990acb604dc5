"""Cache keys: each ingredient invalidates exactly the tasks it should, and nothing more."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import CacheError, ConfigContext, Flow, Stage, Table, TaskState, materialize, ref
from tests.engine.flows import build_flow, outputs_of

RAN, HIT = TaskState.RAN, TaskState.CACHE_VALID


def states(config: ConfigContext, **kwargs: Any) -> dict[str, TaskState]:
    result = build_flow(**kwargs).run(config)
    assert result.successful
    return result.task_states


def reasons(config: ConfigContext, **kwargs: Any) -> dict[str, str]:
    return {o.label: o.reason for o in build_flow(**kwargs).run(config).outcomes}


def test_first_run_runs_all_and_rerun_hits_all(duckdb_config: ConfigContext) -> None:
    """A first run runs every task; an identical rerun is all cache hits."""
    assert set(states(duckdb_config).values()) == {RAN}
    assert set(states(duckdb_config).values()) == {HIT}


def test_version_bump_reruns_task_and_downstream_only(duckdb_config: ConfigContext) -> None:
    """Bumping a's version reruns a and what reads it (c, e), not its siblings b and d."""
    states(duckdb_config)
    assert states(duckdb_config, version_a="1.1") == {
        "s1.a": RAN, "s1.b": HIT, "s1.d": HIT, "s2.c": RAN, "s2.e": RAN,
    }
    assert reasons(duckdb_config, version_a="1.2")["s1.a"] == "version 1.1 -> 1.2"


def test_argument_change_reruns_only_that_task(duckdb_config: ConfigContext) -> None:
    """A changed plain argument reruns its task alone."""
    states(duckdb_config)
    assert states(duckdb_config, arg_b=2) == {"s1.a": HIT, "s1.b": RAN, "s1.d": HIT, "s2.c": HIT, "s2.e": HIT}
    assert reasons(duckdb_config, arg_b=3)["s1.b"] == "arguments changed"


def test_cache_function_value_change_reruns_task(duckdb_config: ConfigContext) -> None:
    """A new cache-function value reruns the task; the same value keeps it cached."""
    states(duckdb_config)
    assert states(duckdb_config, cache_value=2)["s1.d"] is RAN
    assert states(duckdb_config, cache_value=2)["s1.d"] is HIT
    assert reasons(duckdb_config, cache_value=3)["s1.d"] == "cache function value changed"


def test_lazy_query_change_reruns_lazy_task_and_downstream(duckdb_config: ConfigContext) -> None:
    """A lazy task whose SQL changed reruns, and its consumer sees the new input."""
    states(duckdb_config)
    assert states(duckdb_config, literal="Bob") == {"s1.a": HIT, "s1.b": HIT, "s1.d": HIT, "s2.c": RAN, "s2.e": RAN}
    r = reasons(duckdb_config, literal="Charlie")
    assert r["s2.c"] == "query changed"
    assert r["s2.e"] == "input s2.c changed"


def test_lazy_sql_is_case_sensitive(duckdb_config: ConfigContext) -> None:
    """'Alice' and 'ALICE' are different queries: no false cache hit, and the table is right."""
    flow = build_flow(literal="Alice")
    flow.run(duckdb_config)
    flow = build_flow(literal="ALICE")
    result = flow.run(duckdb_config)
    assert result.task_states["s2.c"] is RAN
    assert list(result.get(outputs_of(flow)["c"]).id) == [3]


def test_case_sensitive_raw_text_sql(duckdb_config: ConfigContext) -> None:
    """Hand-written sa.text SQL differing only in letter case reruns and stores the new value."""

    def flow_for(literal: str) -> tuple[Flow, Any]:
        @materialize(name="t", lazy=True)
        def t() -> Any:
            return sa.text(f"SELECT '{literal}' AS name")

        with Flow("f") as flow, Stage("s"):
            out = t()
        return flow, out

    flow, out = flow_for("Alice")
    assert flow.run(duckdb_config).get(out).name[0] == "Alice"
    flow, out = flow_for("ALICE")
    result = flow.run(duckdb_config)
    assert result.task_states["s.t"] is RAN
    assert result.get(out).name[0] == "ALICE"


def test_unversioned_task_always_runs_but_unchanged_output_keeps_downstream_cached(
    duckdb_config: ConfigContext,
) -> None:
    """A task without version runs every time; identical data keeps its consumers cache-valid."""
    data = {"x": [1, 2]}

    @materialize
    def source() -> pd.DataFrame:
        return pd.DataFrame(data)

    @materialize(version="1", input_type=pd.DataFrame)
    def consumer(df: pd.DataFrame) -> pd.DataFrame:
        return df * 2

    def run() -> dict[str, TaskState]:
        with Flow("f") as flow, Stage("s"):
            consumer(source())
        return flow.run(duckdb_config).task_states

    assert run() == {"s.source": RAN, "s.consumer": RAN}
    assert run() == {"s.source": RAN, "s.consumer": HIT}
    data["x"] = [1, 3]
    assert run() == {"s.source": RAN, "s.consumer": RAN}


def test_force_cache_invalid_reruns_everything(duckdb_config: ConfigContext) -> None:
    """cache_validation.mode=force_cache_invalid reruns every task."""
    from dataclasses import replace

    from pipedag import CacheValidation

    states(duckdb_config)
    forced = replace(duckdb_config, cache_validation=CacheValidation(mode="force_cache_invalid"))
    assert set(states(forced).values()) == {RAN}
    assert set(states(duckdb_config).values()) == {HIT}


def test_unhashable_argument_is_a_clear_error(duckdb_config: ConfigContext) -> None:
    """An argument without a stable hash fails with a CacheError naming the task."""

    @materialize(version="1")
    def takes(obj: object) -> int:
        return 1

    with Flow("f") as flow, Stage("s"):
        takes(object())
    with pytest.raises(CacheError, match=r"Task s\.takes.*cannot be part of a cache key"):
        flow.run(duckdb_config)


def test_unique_suffix_names_are_distinct_and_stable(duckdb_config: ConfigContext) -> None:
    """Tables named 'part_%%' get distinct suffixes that stay the same between runs."""

    @materialize(version="1")
    def parts() -> list[Table]:
        return [Table(pd.DataFrame({"i": [i]}), "part_%%") for i in range(3)]

    def names() -> list[str]:
        with Flow("f") as flow, Stage("s"):
            parts()
        result = flow.run(duckdb_config)
        return [t.name for t in result.outcomes[0].outputs]

    first = names()
    assert len(set(first)) == 3
    assert all(n.startswith("part_") and len(n) == len("part_") + 8 for n in first)
    assert names() == first


def test_ref_renders_quoted_physical_table(duckdb_config: ConfigContext) -> None:
    """ref() gives a quoted schema-qualified name usable in hand-written SQL."""

    @materialize(version="1")
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})

    @materialize(lazy=True)
    def big(t: sa.Alias) -> Any:
        assert ref(t).startswith('"s__pipedag"."numbers__')
        return sa.text(f"SELECT x FROM {ref(t)} WHERE x > 1")

    with Flow("f") as flow, Stage("s"):
        out = big(numbers())
    assert list(flow.run(duckdb_config).get(out).x) == [2, 3]
    with pytest.raises(TypeError, match="ref"):
        ref("not a table")
