"""The ``pipedag ui`` page in a real headless Chromium, against real runs on DuckDB and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.ui.uiflow import ROWS

if TYPE_CHECKING:
    from tests.ui.conftest import Site

SCREENSHOT = os.environ.get("PIPEDAG_UI_SCREENSHOT")  # e.g. docs/ui.png: where the docs' picture is written


def _states(page: Any) -> dict[str, str]:
    script = "nodes => Object.fromEntries(nodes.map(n => [n.dataset.task, n.dataset.state]))"
    return page.eval_on_selector_all(".task", script)


def test_graph_shows_every_task_in_its_state(page: Any, site: Site) -> None:
    """The graph draws every task of the latest run, grouped by stage, coloured by the run's decisions."""
    latest = site.results[-1]
    assert _states(page) == {o.label: o.state.value for o in latest.outcomes}
    stages = page.eval_on_selector_all(".stage", "nodes => nodes.map(n => n.dataset.stage)")
    assert stages == [s.name for s in site.flow.stages]
    assert page.inner_text("#run-summary").startswith(f"run {latest.run_id}: failed")
    # Selecting an older run in the picker shows that run's decisions.
    first = site.results[0]
    page.select_option("#run-select", str(first.run_id))
    page.wait_for_function(f"document.querySelector('#run-summary').textContent.startsWith('run {first.run_id}:')")
    assert _states(page) == {o.label: o.state.value for o in first.outcomes}


def test_selecting_a_task_shows_its_reason_and_record(page: Any, site: Site, tmp_path: Path) -> None:
    """Clicking a task shows its decision, the reason, its cache key ingredients, tables and what changed."""
    latest = {o.label: o for o in site.results[-1].outcomes}
    page.click('.task[data-task="broken.bad"]')
    page.wait_for_selector('#detail [data-field="reason"]')
    assert "boom from bad" in page.inner_text('#detail [data-field="reason"]')
    assert page.inner_text('#detail [data-field="decision"]') == "failed"
    page.click('.task[data-task="features.double"]')
    page.wait_for_function("document.querySelector('#detail h3')?.textContent === 'features.double'")
    assert page.inner_text('#detail [data-field="reason"]') == latest["features.double"].reason
    assert "raw.names" in page.inner_text('#detail [data-field="inputs"]')
    assert page.inner_text('#detail [data-field="tables"] tr[data-table="doubled"] td.num') == str(ROWS)
    assert "run 1: ran" in page.inner_text('#detail [data-field="previous"]')
    page.screenshot(path=str(tmp_path / "ui.png"))
    if SCREENSHOT:
        shutil.copy(tmp_path / "ui.png", SCREENSHOT)


def test_run_list_and_timeline_show_the_recorded_data(page: Any, site: Site) -> None:
    """The runs tab lists every run with status and counts; a run's timeline has one bar per task at its time."""
    page.click('nav button[data-tab="runs"]')
    page.wait_for_selector("#timeline .bar")
    rows = page.eval_on_selector_all("#runs-table tbody tr", "rows => rows.map(r => [r.dataset.run, r.dataset.status])")
    expected = [[str(r.run_id), "succeeded" if r.successful else "failed"] for r in reversed(site.results)]
    assert rows[: len(expected)] == expected
    latest = site.results[-1]
    bars = page.eval_on_selector_all(
        "#timeline .bar",
        "bars => bars.map(b => [b.dataset.task, b.dataset.state, +b.dataset.start, +b.dataset.seconds])",
    )
    assert [(b[0], b[1]) for b in bars] == [(o.label, o.state.value) for o in latest.outcomes]
    assert [b[3] for b in bars] == pytest.approx([o.seconds for o in latest.outcomes], rel=1e-5, abs=1e-6)
    for (_, _, start, seconds), (_, _, next_start, _) in itertools.pairwise(bars):
        assert start >= 0 and next_start >= start + seconds - 0.002  # the sequential engine: no overlap
    slow = next(b for b in bars if b[0] == "raw.slow")
    assert slow[3] >= 0.3


def test_table_preview_pages_through_the_rows(page: Any, site: Site) -> None:
    """The tables tab lists columns, types and row counts; the preview shows the table's rows page by page."""
    page.click('nav button[data-tab="tables"]')
    item = page.wait_for_selector('.table-item[data-table="raw.names"]')
    assert f"{ROWS} rows" in item.inner_text()
    with site.config.create_store() as store:
        recorded = store.load_history(["raw"])["raw"].published_tables()["names"]
    assert ", ".join(f"{c.name} {c.type}" for c in recorded.columns) in item.inner_text()
    item.click()
    page.wait_for_selector("#preview-table tbody tr")
    assert page.inner_text("#preview-table tbody tr:first-child td:first-child") == "0"
    page.click("#next-page")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('rows 51')")
    cells = page.eval_on_selector_all("#preview-table tbody tr", "rows => rows.map(r => r.cells[1].textContent)")
    assert cells == [f"name {i}" for i in range(50, 100)]
    assert page.inner_text("#page-info") == f"rows 51\N{EN DASH}100 of {ROWS}"


def test_a_run_started_while_the_page_is_open_appears_live(page: Any, site: Site) -> None:
    """A run started after the page loaded shows up (running or busy, then finished) without a reload."""
    page.evaluate("window.__loaded_once = true")
    page.click('nav button[data-tab="runs"]')
    worker = threading.Thread(target=site.run, kwargs={"sleep": 1.5})
    worker.start()
    try:
        if site.backend == "duckdb":  # the run holds the file: the page says so
            page.wait_for_selector("#banner:not([hidden])", timeout=10_000)
            assert "in use by another process" in page.inner_text("#banner")
        else:  # PostgreSQL is readable during the run: the run is listed as running
            page.wait_for_selector('#runs-table tr[data-status="running"]', timeout=10_000)
    finally:
        worker.join()
    new = site.results[-1]
    page.wait_for_selector(f'#runs-table tr[data-run="{new.run_id}"][data-status="failed"]', timeout=10_000)
    page.click('nav button[data-tab="graph"]')
    page.wait_for_function(f"document.querySelector('#run-summary').textContent.startsWith('run {new.run_id}: failed')")
    assert _states(page) == {o.label: o.state.value for o in new.outcomes}
    assert page.is_hidden("#banner")
    assert page.evaluate("window.__loaded_once") is True
