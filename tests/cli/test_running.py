"""``pipedag run`` and ``pipedag plan`` on real flows, including every way to get them wrong."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

Project = Any  # the fixture's class lives in conftest.py


def test_run_twice_then_everything_is_cache_valid(project: Project) -> None:
    """The first run computes all three tasks, the second reuses them all."""
    first = project.invoke("run", "flow.py:flow", "--instance", "mini")
    assert first.exit_code == 0, first.output
    assert "Run 1 of flow demo on instance mini succeeded: 3 ran, 0 cache-valid." in first.stdout
    second = project.invoke("run", "flow.py:build")
    assert "Run 2 of flow demo on instance mini succeeded: 0 ran, 3 cache-valid." in second.stdout
    assert ["summary", "features", "cache-valid", "3"] in [line.split()[:4] for line in second.stderr.splitlines()]


def test_module_spec_is_imported_from_the_current_folder(project: Project) -> None:
    """``module:function`` finds flow.py in the working directory and calls the builder."""
    sys.modules.pop("flow", None)
    try:
        result = project.invoke("run", "flow:build")
    finally:
        sys.modules.pop("flow", None)
    assert result.exit_code == 0, result.output
    assert "3 ran" in result.stdout


def test_stage_option_runs_only_that_stage(project: Project) -> None:
    """--stage features reruns nothing upstream, even after the upstream version changed."""
    project.invoke("run", "flow.py:flow")
    project.write_flow(version="2")
    result = project.invoke("run", "flow.py:flow", "--stage", "features")
    assert result.exit_code == 0, result.output
    assert "0 ran, 2 cache-valid" in result.stdout


def test_failing_task_is_one_red_line_naming_it(project: Project) -> None:
    """A task error exits 1 with the task, its error and what to do; nothing else is published."""
    project.write_flow(fail=True)
    result = project.invoke("run", "flow.py:flow")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Run 1 of flow demo failed: task features.summary failed: ValueError: boom at flow.py:22. Fix the "
        "task and run again; cache-valid tasks will not rerun. (--debug shows the traceback)"
    )


def test_debug_shows_the_task_traceback_without_fail_fast(project: Project) -> None:
    """--debug prints the failing task's own traceback down to the user's file and line, without --fail-fast."""
    project.write_flow(fail=True)
    line = next(i for i, text in enumerate((project.path / "flow.py").read_text().splitlines(), 1) if "boom" in text)
    debug = project.invoke("--debug", "run", "flow.py:flow")
    assert debug.exit_code == 1
    assert f'flow.py", line {line}, in summary' in debug.stderr and 'raise ValueError("boom")' in debug.stderr
    assert "Run 1 of flow demo failed" in debug.stderr
    fail_fast = project.invoke("run", "flow.py:flow", "--fail-fast")
    assert f"Error: ValueError: boom (in pipedag task features.summary) at flow.py:{line}" in fail_fast.stderr


def test_fail_fast_and_debug(project: Project) -> None:
    """--fail-fast stops at the task's own exception; --debug prints its traceback instead."""
    project.write_flow(fail=True)
    result = project.invoke("run", "flow.py:flow", "--fail-fast")
    assert result.exit_code == 1
    assert "Error: ValueError: boom (in pipedag task features.summary)" in result.stderr
    debug = project.invoke("--debug", "run", "flow.py:flow", "--fail-fast")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr and 'raise ValueError("boom")' in debug.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "flow.py"], "FLOW must look like package.module:object or path/to/file.py:object, got 'flow.py'."),
        (["run", "missing.py:flow"], "Flow file missing.py does not exist"),
        (["run", "flow.py:nope"], "flow.py has no object 'nope'. Candidates: build, flow."),
        (["run", "flow.py:not_a_flow"], "flow.py:not_a_flow is a int, not a Flow; name a Flow or a function"),
        (["run", "no_such_module:flow"], "No module named 'no_such_module'"),
        (["run", "flow.py:flow", "--instance", "mnii"], "Unknown instance 'mnii' in pipedag.yaml"),
        (["run", "flow.py:flow", "--stage", "nope"], "Unknown stage 'nope' in flow 'demo'. Known stages: inputs,"),
        (["plan", "flow.py:flow", "--stage", "features"], "no published output of task inputs.inputs"),
    ],
)
def test_error_paths_print_one_red_line(project: Project, args: list[str], message: str) -> None:
    """Every bad FLOW, instance or stage exits 1 with a single 'Error:' line that says what to fix."""
    result = project.invoke(*args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]


def test_plan_predicts_and_explains(project: Project) -> None:
    """plan lists every task with its action and reason, and matches what run then does."""
    project.invoke("run", "flow.py:flow")
    project.write_flow(version="2")
    result = project.invoke("plan", "flow.py:flow")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["task", "stage", "action", "reason"]
    assert lines[2].split() == ["inputs", "inputs", "run", "version", "1", "->", "2"]
    assert "3 of 3 tasks would run on instance mini." in result.stdout
    assert "0 ran" not in project.invoke("run", "flow.py:flow").stdout
    as_json = json.loads(project.invoke("plan", "flow.py:flow", "--format", "json").stdout)
    assert as_json[0] == {"task": "inputs.inputs", "action": "cache-valid", "reason": "cache hit"}


def test_run_without_pipedag_yaml_uses_the_default_duckdb_file(bare_project: Project) -> None:
    """Without pipedag.yaml, run uses .pipedag/<flow>.duckdb and status finds it; --instance needs pipedag.yaml."""
    project = bare_project
    assert project.invoke("run", "flow.py:flow").exit_code == 0
    assert (project.path / ".pipedag" / "demo.duckdb").is_file()
    status = project.invoke("status")
    assert status.exit_code == 0 and "Instance default (id demo) of demo" in status.stdout
    named = project.invoke("status", "--instance", "mini")
    assert named.exit_code == 1
    assert "--instance mini needs a pipedag.yaml, but none was found" in named.stderr


def test_engine_and_workers_options(project: Project) -> None:
    """--engine parallel --workers 2 runs the flow; a sequential rerun finds every task cache-valid."""
    first = project.invoke("run", "flow.py:flow", "--engine", "parallel", "--workers", "2")
    assert first.exit_code == 0, first.output
    assert "3 ran, 0 cache-valid" in first.stdout
    second = project.invoke("run", "flow.py:flow", "--engine", "sequential")
    assert "0 ran, 3 cache-valid" in second.stdout
    bad = project.invoke("run", "flow.py:flow", "--engine", "ray")
    assert bad.exit_code == 2 and "'ray' is not one of" in bad.stderr
