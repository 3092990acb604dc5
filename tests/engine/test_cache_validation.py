"""cache_validation modes, from pipedag.yaml and from flow.run(...), do what their names say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipedag import (
    CODE_VERSION,
    CacheError,
    ConfigContext,
    ConfigError,
    Flow,
    PipedagConfig,
    Stage,
    TaskState,
    materialize,
)


def _flow(freshness: list[int], calls: list[str]) -> Flow:
    def fresh() -> int:
        calls.append("cache")
        return freshness[0]

    @materialize(name="load", version="1", cache=fresh)
    def load() -> Any:
        return pd.DataFrame({"x": [freshness[0]]})

    @materialize(name="plain", version="1")
    def plain() -> Any:
        return pd.DataFrame({"y": [1]})

    with Flow("cv") as flow, Stage("s"):
        load()
        plain()
    return flow


def test_modes_from_flow_run(duckdb_config: ConfigContext) -> None:
    """ignore/assert/force_fresh_input act on cache-function tasks only; force_cache_invalid on all."""
    freshness, calls = [1], []
    flow = _flow(freshness, calls)
    flow.run(config=duckdb_config)
    freshness[0] = 2
    calls.clear()
    result = flow.run(config=duckdb_config, cache_validation="ignore_fresh_input")
    assert result.task_states["s.load"] is TaskState.CACHE_VALID and calls == []
    with pytest.raises(CacheError, match="reports fresh input"):
        flow.run(config=duckdb_config, cache_validation="assert_no_fresh_input")
    freshness[0] = 1
    result = flow.run(config=duckdb_config, cache_validation="force_fresh_input")
    assert result.task_states == {"s.load": TaskState.RAN, "s.plain": TaskState.CACHE_VALID}
    result = flow.run(config=duckdb_config)  # the forced run stored the normal key
    assert result.task_states == {"s.load": TaskState.CACHE_VALID, "s.plain": TaskState.CACHE_VALID}
    result = flow.run(config=duckdb_config, cache_validation="force_cache_invalid")
    assert result.task_states == {"s.load": TaskState.RAN, "s.plain": TaskState.RAN}


def test_mode_from_pipedag_yaml(tmp_path: Path) -> None:
    """cache_validation in an instance block of pipedag.yaml reaches the run; bad keys name their path."""
    raw = {
        "name": "p",
        "instances": {
            "dev": {
                "table_store": {"args": {"url": f"duckdb:///{tmp_path / 'y.duckdb'}"}},
                "cache_validation": {"mode": "force_cache_invalid"},
                "default_version": "CODE_VERSION",
            }
        },
    }
    config = PipedagConfig(raw).get("dev")
    assert config.default_version == CODE_VERSION
    flow = _flow([1], [])
    flow.run(config=config)
    assert flow.run(config=config).task_states["s.plain"] is TaskState.RAN
    raw["instances"]["dev"]["cache_validation"] = {"mode": "sometimes"}  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"instances\.dev\.cache_validation\.mode is 'sometimes'; allowed"):
        PipedagConfig(raw).get("dev")
