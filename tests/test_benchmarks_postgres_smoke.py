"""The PostgreSQL benchmarks still run (on tiny data), so that the published figures can be reproduced."""

import pytest

from benchmarks import postgres_io, postgres_publish

pytestmark = pytest.mark.postgres


def test_postgres_io_runs(postgres_url: str) -> None:
    """The upload/download benchmark measures every path and reports ratios."""
    figures = postgres_io.main(rows=2_000, repeat=1, url=postgres_url)
    assert set(figures) == {"upload_vs_copy", "upload_vs_adbc", "download_vs_adbc", "download_pandas_vs_adbc"}
    assert all(v > 0 for v in figures.values())


def test_postgres_publish_runs(postgres_url: str) -> None:
    """The publish benchmark reports ms per table for each table size."""
    figures = postgres_publish.main(tables=3, rows=(10, 100), repeat=1, url=postgres_url)
    assert set(figures) == {10, 100} and all(v > 0 for v in figures.values())


@pytest.mark.slow
def test_engines_benchmark_runs(postgres_url: str) -> None:
    """The engines benchmark measures every section (without Dask, on tiny work) and reports ratios."""
    from benchmarks import engines

    figures = engines.main(url=postgres_url, sleep=0.01, cpu_tasks=2, cpu_size=1_000, dask=False)
    assert {"waits ParallelEngine(4)", "parallel_vs_sequential", "parallel_rerun_vs_sequential"} <= set(figures)
    assert all(v > 0 for v in figures.values())
