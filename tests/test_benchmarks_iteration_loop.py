"""The iteration-loop benchmarks still run (tiny sizes), so their published figures can be reproduced."""

from benchmarks import cli_startup, run_history


def test_cli_startup_runs() -> None:
    """The start-up benchmark times python, the heavy imports and pipedag --help."""
    figures = cli_startup.main(repeats=1)
    assert figures["cli_s"] > 0 and figures["ratio"] > 0


def test_run_history_runs() -> None:
    """The history benchmark closes runs with pipedag and with raw DuckDB."""
    figures = run_history.main(tasks=5, repeats=2)
    assert figures["ratio"] > 0
