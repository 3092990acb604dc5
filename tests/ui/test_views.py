"""What the page's JSON endpoints answer, read from real stores (no browser needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedag import ConfigContext, Flow, Stage, Table, materialize
from pipedag.batches import Inventory
from pipedag.ui import source, views
from tests.batches import catalog


def _flow(version: str) -> Flow:
    @materialize(version=version)
    def odd_names() -> Table:
        frame = pd.DataFrame({"Mixed Case": [3, 1, 2], "x'y": ["c", "a", "b"]})
        return Table(frame, "weird", primary_key="Mixed Case")

    with Flow("views") as flow, Stage("s"):
        odd_names()
    return flow


def test_preview_reads_only_published_tables_quoted_and_ordered(store_config: ConfigContext) -> None:
    """A preview pages a table with mixed-case and quoted column names by its primary key; other names are refused."""
    _flow("1").run(config=store_config)
    with source.reading(store_config) as store:
        page = views.preview(store, "s", "weird", offset=1, limit=5)
        assert page["columns"] == ["Mixed Case", "x'y"]
        assert page["rows"] == [[2, "b"], [3, "c"]] and page["total"] == 3
        with pytest.raises(KeyError, match="no published table"):
            views.preview(store, "s", "pipedag_metadata.runs; --", offset=0, limit=5)


def test_task_detail_says_what_changed_since_the_previous_version(store_config: ConfigContext) -> None:
    """After a version bump the task shows the reason, the earlier run's decision and the changed ingredient."""
    _flow("1").run(config=store_config)
    second = _flow("2").run(config=store_config)
    with source.reading(store_config) as store:
        detail = views.task(store, source.catalog(store), second.run_id, "s.odd_names")
    assert detail["decision"] == "ran" and detail["reason"] == second.outcomes[0].reason
    assert detail["previous_run"]["decision"] == "ran"
    assert detail["changes"].endswith("version 1 -> 2")
    assert detail["record"]["tables"][0]["rows"] == 3


def test_batch_jobs_list_their_ranges(store_config: ConfigContext) -> None:
    """The tables view lists each batch job with its ranges, statuses and attempts."""
    catalog.create(store_config, catalog.ones(range(1, 6)))
    inventory = Inventory(store_config)
    spec = catalog.source(store_config).incremental("job", max_count=3)
    first = inventory.claim(spec, worker="w1")
    assert first is not None
    inventory.fail(first, "broken input")
    with source.reading(store_config) as store:
        jobs = views.batches(store, source.catalog(store))
    assert [j["job"] for j in jobs] == ["job"]
    assert [(r["id_min"], r["id_max"], r["status"], r["attempt"], r["error"]) for r in jobs[0]["ranges"]] == [
        (r.id_min, r.id_max, r.status, r.attempt, r.error) for r in inventory.status("job")
    ]
    assert jobs[0]["ranges"][0]["error"] == "broken input"
