"""Opening a store read-only (``pipedag ui``), and what lets readers and runs share a DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigContext, Flow, Stage, Table, create_basic_pipedag_config, materialize
from pipedag.errors import StoreError
from pipedag.store import metadata as md
from pipedag.store.identifiers import qualified


@materialize(version="1")
def numbers() -> Table:
    return Table(pd.DataFrame({"x": [1, 2, 3]}), "numbers")


def _flow() -> Flow:
    with Flow("readonly") as flow, Stage("s"):
        numbers()
    return flow


def test_read_only_store_reads_history_and_refuses_writes(store_config: ConfigContext) -> None:
    """A read-only store sees the runs and their task start times, and the database refuses its writes."""
    result = _flow().run(config=store_config)
    store = store_config.create_store()
    store.open(read_only=True)
    try:
        rows = store.execute(sa.select(md.task_runs.c.task, md.task_runs.c.started_at))
        assert [r[0] for r in rows] == ["numbers"] and rows[0][1] is not None
        with pytest.raises(StoreError):
            store.execute(md.runs.delete())
    finally:
        store.close()
    assert result.successful


def test_read_only_open_creates_nothing(tmp_path: Path) -> None:
    """Opening a missing DuckDB file read-only fails instead of creating the file or its folder."""
    config = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'sub' / 'none.duckdb'}").get()
    with pytest.raises(StoreError):
        config.create_store().open(read_only=True)
    assert not (tmp_path / "sub").exists()


def test_older_run_history_gains_the_start_time_column(store_config: ConfigContext) -> None:
    """Metadata of version 1 (task_runs without started_at) is migrated when a run opens it."""
    flow = _flow()
    flow.run(config=store_config)
    with store_config.create_store() as store:
        store.execute_sql(f"ALTER TABLE {qualified(store.metadata_schema, 'task_runs')} DROP COLUMN started_at")
        store.execute(md.schema_version.update().values(version=1))
    result = flow.run(config=store_config)
    with store_config.create_store() as store:
        rows = store.execute(sa.select(md.task_runs.c.run_id, md.task_runs.c.started_at).order_by("run_id"))
        assert store.execute(sa.select(md.schema_version.c.version)) == [(md.SCHEMA_VERSION,)]
    assert rows[0][1] is None and rows[-1] == (result.run_id, rows[-1][1]) and rows[-1][1] is not None


def test_a_run_waits_for_a_reader_of_the_duckdb_file(tmp_path: Path) -> None:
    """A run that starts while another process reads the DuckDB file waits for it instead of failing."""
    path = tmp_path / "shared.duckdb"
    config = create_basic_pipedag_config(f"duckdb:///{path}").get()
    flow = _flow()
    flow.run(config=config)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only=True); "
         "print('open', flush=True); time.sleep(1.0); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    start = time.perf_counter()
    result = flow.run(config=config)
    reader.wait(10)
    assert result.successful
    assert time.perf_counter() - start > 0.2  # it did have to wait for the reader
