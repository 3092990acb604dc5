"""The seed example project's own test suite passes (mini and midi through the pytest plugin)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_project"


def test_seed_project_tests_pass_on_mini_and_midi(tmp_path: Path) -> None:
    """A copy of the example runs its tests in a fresh process with its `--strict-markers -m 'not slow'` and
    `--pipedag-instance mini --pipedag-instance midi`: both pass, though no selected case is tagged slow."""
    project = tmp_path / "seed_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".pipedag", "__pycache__", ".pytest_cache"))
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA",
            "--pipedag-instance", "mini", "--pipedag-instance", "midi",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout and "pipedag runs" in done.stdout
    for case in ("flow_runs_on_the_instance_sample[mini]", "flow_runs_on_the_instance_sample[midi]"):
        assert f"PASSED tests/test_seed_flow.py::test_{case}" in done.stdout
    assert {p.name for p in (project / ".pipedag").glob("*.duckdb")} == {"seed_mini.duckdb", "seed_midi.duckdb"}


def test_seed_project_runs_from_the_cli(tmp_path: Path) -> None:
    """`pipedag run` on the example's mini instance uses its attrs, and `pipedag sql` reads the result."""
    project = tmp_path / "seed_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".pipedag", "__pycache__", ".pytest_cache"))
    exe = [sys.executable, "-m", "pipedag.cli.main"]
    run = subprocess.run(
        [*exe, "run", "seed_flow.py:build_flow", "-i", "mini"], cwd=project, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "succeeded: 4 ran, 0 cache-valid." in run.stdout
    sql = subprocess.run(
        [*exe, "sql", "SELECT count(*) AS n FROM features.customer_features", "-i", "mini", "--format", "csv"],
        cwd=project, capture_output=True, text=True,
    )
    assert sql.stdout.splitlines() == ["n", "200"], sql.stderr
