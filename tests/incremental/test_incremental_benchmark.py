"""The incremental benchmark still runs (on tiny data), so that its published figures can be reproduced."""

from __future__ import annotations

import pytest

from benchmarks import incremental


@pytest.mark.postgres
def test_benchmark_runs_on_both_backends(postgres_url: str) -> None:
    """Every step is measured on both backends and pipedag's output matches the baseline's."""
    figures = incremental.main(rows=2_000, chunk=100, url=postgres_url)
    assert set(figures) == {"duckdb", "postgres"}
    assert all(v > 0 for ratios in figures.values() for v in ratios.values())
