"""``pipedag batches status`` on an instance's real inventory."""

from __future__ import annotations

from typing import Any

from pipedag import PipedagConfig
from pipedag.batches import Inventory
from tests.batches import catalog

Project = Any  # the fixture's class lives in conftest.py


def test_batches_status_lists_jobs_and_ranges(project: Project) -> None:
    """status shows each job's position and every range with count, weight, status, attempt and error."""
    config = PipedagConfig(project.path / "pipedag.yaml").get("mini")
    empty = project.invoke("batches", "status")
    assert empty.exit_code == 0, empty.output
    assert "(none yet: claim a batch first)" in empty.stdout
    catalog.create(config, {1: 10, 2: 20, 3: 30, 4: 40})
    inv = Inventory(config)
    spec = catalog.source(config).incremental("ingest", max_count=2)
    first = inv.claim(spec, worker="w1")
    assert first is not None
    inv.succeed(first)
    second = inv.claim(spec, worker="w2")
    assert second is not None
    inv.fail(second, ValueError("bad file f3\nwith details"))
    inv.claim(catalog.source(config).backfill("redo", id_min=2, id_max=3), worker="w3")
    out = project.invoke("batches", "status", "ingest", "--instance", "mini")
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.stdout.splitlines()]
    assert ["ingest", "incremental", f"{catalog.schema_of(config)}.files(id)", "4"] in rows
    assert ["ingest", "1", "1..2", "2", "30.0", "succeeded", "1", "w1"] in rows
    assert ["ingest", "2", "3..4", "2", "70.0", "failed", "1", "w2", "ValueError:", "bad", "file", "f3"] in rows
    assert not any(r and r[0] == "redo" for r in rows)
    every = project.invoke("batches", "status").stdout
    source = f"{catalog.schema_of(config)}.files(id)"
    assert ["redo", "backfill", source, "2..3", "3"] in [line.split() for line in every.splitlines()]


def test_batches_status_of_an_unknown_job(project: Project) -> None:
    """Asking for a job the instance does not have fails with one line naming the known jobs."""
    result = project.invoke("batches", "status", "nope")
    assert result.exit_code == 2
    assert "has no batch job 'nope'; known: none yet." in result.output
