"""The ui benchmark still runs (on a tiny flow), so that its published figures can be reproduced."""

from benchmarks import ui


def test_ui_benchmark_runs() -> None:
    """The ui benchmark serves a small history and measures the first load against the raw driver."""
    figures = ui.main(stages=2, per_stage=3, runs=2, repeats=2, browser=False)
    assert figures["first_load_s"] > 0 and figures["ratio"] > 0
