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


def test_output_suffix_sets_the_format(bare_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o graph.png` renders PNG (here: says how, graphviz being absent), never SVG into a .png file."""
    monkeypatch.setenv("PATH", "")
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", "-o", "graph.png")
    assert result.exit_code == 0, result.output
    assert "dot -Tpng graph.dot -o graph.png" in result.stdout
    assert (bare_project.path / "graph.dot").is_file() and not (bare_project.path / "graph.png").exists()
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", "-o", "only.dot")
    assert result.exit_code == 0 and (bare_project.path / "only.dot").read_text().startswith("digraph")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-o", "graph.pdf"], "Cannot tell the format of graph.pdf"), (["-o", "g.png", "--format", "svg"], "contradicts")],
)
def test_unknown_or_contradicting_format_is_a_usage_error(bare_project: Project, args: list[str], message: str) -> None:
    """An output suffix naming no format, or one contradicting --format, is refused before anything is written."""
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", *args)
    assert result.exit_code == 2 and message in result.output
    assert not list(bare_project.path.glob("*.dot"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_png_is_rendered_by_graphviz(bare_project: Project) -> None:
    """With graphviz installed, `-o graph.png` writes a real PNG."""
    result = bare_project.invoke("visualize", "flow.py:flow", "--no-state", "-o", "graph.png")
    assert result.exit_code == 0, result.output
    assert (bare_project.path / "graph.png").read_bytes().startswith(b"\x89PNG")
