"""Helpers shared by the benchmarks: temp configs, timing, frames, reporting."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipedag import ConfigContext, create_basic_pipedag_config
from pipedag.log import set_level


def quiet() -> None:
    """Benchmarks measure work, not log printing."""
    set_level("WARNING")


def temp_config(name: str) -> ConfigContext:
    """A config on a fresh DuckDB file in a new temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"pipedag-bench-{name}-"))
    return create_basic_pipedag_config(f"duckdb:///{folder / 'bench.duckdb'}", fail_fast=True).get()


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Median wall-clock seconds over ``repeats`` calls."""
    return statistics.median(timed(fn) for _ in range(repeats))


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """A rows x 5 frame: two ints, a float, a low-cardinality string, a timestamp."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "group": rng.integers(0, 1000, rows, dtype=np.int32),
            "value": rng.random(rows),
            "label": pd.Categorical.from_codes(rng.integers(0, 8, rows), list("abcdefgh")).astype(str),
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(rows) % 86_400, unit="s"),
        }
    )


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a small aligned table."""
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
