"""The table-type benchmark still runs (on tiny data), so that its published figures can be reproduced."""

from benchmarks import table_types


def test_table_types_benchmark_runs() -> None:
    """Every write/read ratio and both version costs are measured."""
    figures = table_types.main(rows=2_000, repeats=1)
    assert {"write_pandas", "write_polars", "read_pandas", "read_polars"} <= figures.keys()
    assert figures["code_version_warm_ms"] >= 0 and figures["auto_version_ms"] > 0
