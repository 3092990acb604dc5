"""``pipedag status``, ``sql`` and ``shell`` against an instance's real store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest

Project = Any  # the fixture's class lives in conftest.py


def test_status_before_and_after_a_run(project: Project) -> None:
    """status shows empty sections first, then stages, tables with rows, runs and decisions."""
    empty = project.invoke("status")
    assert empty.exit_code == 0, empty.output
    assert "(none yet: run a flow on this instance first)" in empty.stdout
    project.invoke("run", "flow.py:flow")
    project.write_flow(version="2")
    project.invoke("run", "flow.py:flow")
    out = project.invoke("status", "--instance", "mini").stdout
    rows = [line.split() for line in out.splitlines()]
    assert ["features", f"{project.prefix}features", "2", "2"] in [r[:4] for r in rows]
    assert ["inputs", "names", "3", "inputs"] in [r[:4] for r in rows]
    assert ["features", "summary", "3", "summary"] in [r[:4] for r in rows]
    assert ["2", "demo", "succeeded"] in [r[:3] for r in rows]
    assert "Run 2 decisions:" in out
    assert ["inputs", "inputs", "ran", "6"] in [r[:4] for r in rows]
    assert any(line.endswith("version 1 -> 2") for line in out.splitlines())


def test_sql_resolves_plain_stage_names(project: Project) -> None:
    """``features.summary`` finds the instance's (prefixed) stage schema; formats table, csv, json."""
    project.invoke("run", "flow.py:flow")
    query = "SELECT name, age2 FROM features.summary WHERE name <> 'features.x' ORDER BY age2"
    table = project.invoke("sql", query)
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines() == [
        "name     age2",
        "-------  ----",
        "Alice      40",
        "Bob        80",
        "Charlie   120",
        "(3 rows)",
    ]
    csv = project.invoke("sql", query, "--format", "csv").stdout
    assert csv.splitlines() == ["name,age2", "Alice,40", "Bob,80", "Charlie,120"]
    rows = json.loads(project.invoke("sql", query, "--format", "json").stdout)
    assert rows[0] == {"name": "Alice", "age2": 40}
    short = project.invoke("sql", query, "--max-rows", "1").stdout
    assert "(3 rows, 1 shown (--max-rows 0 for all))" in short


def test_sql_error_is_one_line(project: Project) -> None:
    """A query the database rejects prints one red line, not a traceback."""
    project.invoke("run", "flow.py:flow")
    result = project.invoke("sql", "SELECT nope FROM features.summary")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and lines[0].startswith("Error: ")


def test_prefixed_instance_keeps_other_schemas_apart(duckdb_project: Project) -> None:
    """With schema_prefix dev_ the tables live in dev_features, and `features.` still finds them."""
    duckdb_project.invoke("run", "flow.py:flow")
    direct = duckdb_project.invoke("sql", 'SELECT count(*) AS n FROM "dev_features".summary')
    assert direct.stdout.splitlines()[2].strip() == "3"
    plain = duckdb_project.invoke("sql", "SELECT count(*) AS n FROM Features.summary")
    assert plain.stdout.splitlines()[2].strip() == "3"


def test_shell_falls_back_to_python_without_a_duckdb_client(
    duckdb_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the duckdb client on PATH, shell opens a Python REPL with `con` and `sql()`."""
    duckdb_project.invoke("run", "flow.py:flow")
    monkeypatch.setenv("PATH", "")
    result = duckdb_project.invoke("shell", input="print(con.sql('SELECT 40 + 2').fetchall())\nsql('SELECT 7 AS x')\n")
    assert result.exit_code == 0, result.output
    assert "`con` is the database connection" in result.stderr or "`con` is the database connection" in result.output
    assert "[(42,)]" in result.output
    assert "(1 rows)" in result.output
    one = duckdb_project.invoke("shell", "-c", 'SELECT count(*) AS n FROM "dev_inputs".names')
    assert one.stdout.splitlines()[-1] == "(1 rows)" and one.stdout.splitlines()[2].strip() == "3"


@pytest.mark.postgres
def test_shell_runs_psql_on_postgres(project: Project, capfd: pytest.CaptureFixture[str]) -> None:
    """On PostgreSQL, shell runs psql against the instance's database."""
    if project.backend != "postgres":
        pytest.skip("psql is the PostgreSQL client")
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    result = project.invoke("shell", "-c", "SELECT 40 + 2 AS answer")
    assert result.exit_code == 0
    assert "42" in capfd.readouterr().out


@pytest.mark.parametrize("command", [["status"], ["sql", "SELECT * FROM range(50000)", "--max-rows", "0"]])
def test_closed_pipe_ends_quietly(duckdb_project: Project, command: list[str]) -> None:
    """`pipedag status | head` and `pipedag sql ... | head` exit 0 without a BrokenPipeError when the reader leaves."""
    assert duckdb_project.invoke("run", "flow.py:flow").exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "pipedag.cli.main", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, errors
    assert "BrokenPipe" not in errors and errors == ""


OTHER_FLOW = """
import pandas as pd
from pipedag import Flow, Stage, materialize


@materialize(version="1")
def other():
    return pd.DataFrame({"x": [1]})


with Flow("second flow") as flow, Stage("features"):
    other()
"""


def test_explore_without_pipedag_yaml_finds_the_zero_config_store(bare_project: Project) -> None:
    """Without pipedag.yaml, sql and status read .pipedag/<flow>.duckdb; --flow picks one of several stores."""
    none_yet = bare_project.invoke("sql", "SELECT 1")
    assert none_yet.exit_code == 1 and "no flow has run here without one" in none_yet.stderr
    assert not (bare_project.path / ".pipedag").exists()
    assert bare_project.invoke("run", "flow.py:flow").exit_code == 0
    result = bare_project.invoke("sql", "SELECT name FROM features.summary ORDER BY id", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["name", "Alice", "Bob", "Charlie"]
    status = bare_project.invoke("status")
    assert status.exit_code == 0 and "features" in status.stdout and "summary" in status.stdout
    (bare_project.path / "other.py").write_text(OTHER_FLOW)
    assert bare_project.invoke("run", "other.py:flow").exit_code == 0
    ambiguous = bare_project.invoke("sql", "SELECT 1")
    assert ambiguous.exit_code == 1 and "--flow demo or --flow 'second flow'" in ambiguous.stderr
    picked = bare_project.invoke("sql", "--flow", "second flow", "SELECT count(*) AS n FROM features.other")
    assert picked.exit_code == 0 and picked.stdout.splitlines()[2].strip() == "1"
    missing = bare_project.invoke("status", "--flow", "nope")
    assert missing.exit_code == 1 and "Flow 'nope' has no zero-configuration store" in missing.stderr
    assert not (bare_project.path / ".pipedag" / "nope.duckdb").exists()


def test_flow_option_reaches_the_zero_config_store_beside_a_pipedag_yaml(duckdb_project: Project) -> None:
    """--flow NAME reads .pipedag/NAME.duckdb even where a pipedag.yaml exists, and excludes --instance."""
    (duckdb_project.path / "other.py").write_text(OTHER_FLOW)
    pipedag_yaml = duckdb_project.path / "pipedag.yaml"
    kept = pipedag_yaml.read_text()
    pipedag_yaml.unlink()
    assert duckdb_project.invoke("run", "other.py:flow").exit_code == 0
    pipedag_yaml.write_text(kept)
    result = duckdb_project.invoke("sql", "--flow", "second flow", "SELECT x FROM features.other", "--format", "csv")
    assert result.exit_code == 0 and result.stdout.splitlines() == ["x", "1"]
    both = duckdb_project.invoke("sql", "--flow", "second flow", "--instance", "mini", "SELECT 1")
    assert both.exit_code == 2 and "give one" in both.output
