"""``pipedag plan`` and ``pipedag status`` report incremental tasks (zero-configuration DuckDB project)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipedag.cli.main import cli

FLOW = '''
import pandas as pd
from pipedag import Flow, Incremental, Stage, Table, materialize

ROWS = {rows}


@materialize(version="1", cache=lambda: ROWS)
def load_events():
    return Table(pd.DataFrame({{"id": range(ROWS), "value": range(ROWS)}}), "events", primary_key=["id"])


@materialize(version="1", input_type=pd.DataFrame, incremental=Incremental(keys=["id"], chunk_size=4))
def doubled(events):
    return events.assign(value2=events.value * 2)[["id", "value2"]]


with Flow("inc") as flow:
    with Stage("raw"):
        events = load_events()
    with Stage("features"):
        doubled(events)
'''


def test_plan_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """plan names due keys per reason for a published input; status lists key counts and last-run counts."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    (tmp_path / "flow.py").write_text(FLOW.format(rows=10))
    assert runner.invoke(cli, ["run", "flow.py:flow"]).exit_code == 0
    (tmp_path / "flow.py").write_text(FLOW.format(rows=12))
    assert runner.invoke(cli, ["run", "flow.py:flow", "--stage", "raw"]).exit_code == 0
    plan = runner.invoke(cli, ["plan", "flow.py:flow"])
    assert plan.exit_code == 0, plan.output
    assert "2 keys due (2 new): input 'events' changed" in plan.stdout
    assert runner.invoke(cli, ["run", "flow.py:flow"]).exit_code == 0
    status = runner.invoke(cli, ["status", "--flow", "inc"])
    assert status.exit_code == 0, status.output
    assert "Incremental tasks" in status.stdout
    rows = [line.split() for line in status.stdout.splitlines()]
    assert ["features.doubled", "12", "3", "2", "0", "2", "2", "0", "0"] in rows


def test_status_lists_quarantined_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """status lists each quarantined key with its attempts and last error."""
    monkeypatch.chdir(tmp_path)
    flow = FLOW.format(rows=6).replace(
        'incremental=Incremental(keys=["id"], chunk_size=4)',
        'incremental=Incremental(keys=["id"], chunk_size=4, on_error="quarantine")',
    ).replace("    return events.assign(", "    assert 4 not in set(events.id), 'no fours'\n    return events.assign(")
    (tmp_path / "flow.py").write_text(flow)
    assert CliRunner().invoke(cli, ["run", "flow.py:flow"]).exit_code != 0  # quarantine ends the run failed
    status = CliRunner().invoke(cli, ["status", "--flow", "inc"])
    assert "Quarantined keys" in status.stdout
    rows = [line.split() for line in status.stdout.splitlines()]
    assert ["features.doubled", "4", "1", "AssertionError:", "no", "fours"] in rows
