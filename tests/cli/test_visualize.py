"""``pipedag visualize``: DOT with stage clusters and state colours; SVG through graphviz if present."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

Project = Any  # the fixture's class lives in conftest.py


def test_dot_has_clusters_edges_and_last_states(duckdb_project: Project) -> None:
    """Each stage is a cluster, inputs are edges, tasks are coloured by their last decision."""
    duckdb_project.write_flow(fail=True)
    duckdb_project.invoke("run", "flow.py:flow")
    result = duckdb_project.invoke("visualize", "flow.py:flow", "--format", "dot", "-o", "g.dot")
    assert result.exit_code == 0, result.output
    dot = (duckdb_project.path / "g.dot").read_text()
    assert 'subgraph "cluster_inputs"' in dot and 'subgraph "cluster_features"' in dot
    assert '"inputs.inputs" -> "features.joined";' in dot
    assert '"features.summary" [label="summary\\nfailed", fillcolor="#ffadad"];' in dot
    assert '"inputs.inputs" [label="inputs\\nran", fillcolor="#b7e4c7"];' in dot


def test_no_state_needs_no_database(bare_project: Project) -> None:
    """--no-state draws white tasks without opening (or creating) any store."""
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", "--format", "dot")
    assert result.exit_code == 0, result.output
    assert 'fillcolor="#ffffff"' in (bare_project.path / "demo.dot").read_text()
    assert not (bare_project.path / ".pipedag").exists()


def test_without_graphviz_only_dot_is_written(bare_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """When `dot` is not on PATH the DOT file is written and the message says how to render it."""
    monkeypatch.setenv("PATH", "")
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state")
    assert result.exit_code == 0
    assert "graphviz's `dot` is not installed" in result.stdout
    assert (bare_project.path / "demo.dot").is_file() and not (bare_project.path / "demo.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_svg_is_rendered_by_graphviz(bare_project: Project) -> None:
    """With graphviz installed, the SVG is rendered next to the DOT file (folders are created)."""
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", "-o", "out/flow.svg")
    assert result.exit_code == 0, result.output
    svg = (bare_project.path / "out" / "flow.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "summary" in svg
