"""The batch-claim benchmark still runs (on a tiny catalog), so that its published figures can be reproduced."""

from benchmarks import batches


def test_batch_claim_benchmark_runs() -> None:
    """The benchmark measures claims, the raw read, Inventory.claim and the late-id scan on DuckDB."""
    figures = batches.main(items=(300,), batch=5, repeats=3, backends=("duckdb",))
    assert set(figures["duckdb"][300]) == {"claim", "baseline", "late_scan", "inventory_claim"}
    assert all(v > 0 for v in figures["duckdb"][300].values())
