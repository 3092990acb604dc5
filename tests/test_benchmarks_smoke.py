"""The benchmarks still run (on tiny data), so that the published figures can be reproduced."""

from benchmarks import flow_overhead, ingest, sibling_change


def test_flow_overhead_runs() -> None:
    """The overhead benchmark builds and runs its flow twice."""
    figures = flow_overhead.main(stages=2, per_stage=5)
    assert figures["tasks"] == 10


def test_sibling_change_runs() -> None:
    """The sibling-change benchmark measures both sizes and a ratio."""
    figures = sibling_change.main(small=1_000, large=5_000, repeats=2)
    assert figures["ratio"] > 0


def test_ingest_runs() -> None:
    """The ingest benchmark compares raw and pipedag ingest."""
    figures = ingest.main(rows=10_000, repeats=1)
    assert figures["ratio"] > 0
