"""The DuckDB store's own rules: file URLs only, clear errors, lifecycle, type mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipedag import ConfigError, Flow, Stage, StateError, StoreError, create_basic_pipedag_config, materialize
from pipedag.store.duckdb import DuckDBTableStore


def test_in_memory_url_is_rejected() -> None:
    """An in-memory DuckDB cannot keep stages between runs, so it is refused with the fix."""
    config = create_basic_pipedag_config("duckdb:///:memory:").get()
    with pytest.raises(ConfigError, match="names no file"):
        config.create_store()


def test_unknown_url_scheme_is_rejected() -> None:
    """A URL whose scheme names no known store is a ConfigError listing the known ones."""
    config = create_basic_pipedag_config("oracle://scott@db/x").get()
    with pytest.raises(ConfigError, match="scheme 'oracle' is not one of"):
        config.create_store()


def test_store_lifecycle_is_enforced(tmp_path: Path) -> None:
    """A store is opened once; using it closed is a StateError."""
    store = DuckDBTableStore(create_basic_pipedag_config(f"duckdb:///{tmp_path / 'x.duckdb'}").get())
    with pytest.raises(StateError, match="open it first"):
        store.begin_run("f")
    with store:
        assert store.begin_run("f") == 1
    with pytest.raises(StateError, match="opened once"):
        store.open()


def test_file_locked_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    """When another process holds the DuckDB file, the run fails naming the file and the fix."""
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); "
         "time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"

        @materialize(version="1")
        def t() -> pd.DataFrame:
            return pd.DataFrame({"a": [1]})

        with Flow("f") as flow, Stage("s"):
            t()
        config = create_basic_pipedag_config(f"duckdb:///{path}").get()
        with pytest.raises(StoreError, match="Another process"):
            flow.run(config)
    finally:
        holder.kill()
        holder.wait()


def test_lazy_inputs_carry_recorded_column_types(tmp_path: Path) -> None:
    """Lazy tasks get sa.Table aliases typed from pipedag's metadata, not by reflection."""
    seen: dict[str, object] = {}

    @materialize(version="1")
    def source() -> pd.DataFrame:
        return pd.DataFrame({"i": pd.Series([1], dtype="int32"), "s": ["x"], "d": [pd.Timestamp("2026-01-01")]})

    @materialize(lazy=True)
    def use(t: sa.Alias) -> sa.Select[tuple[int]]:
        seen.update({c.name: type(c.type) for c in t.columns})
        return sa.select(t.c.i)

    with Flow("f") as flow, Stage("s"):
        use(source())
    assert flow.run(create_basic_pipedag_config(f"duckdb:///{tmp_path / 'x.duckdb'}").get()).successful
    assert seen == {"i": sa.Integer, "s": sa.String, "d": sa.DateTime}
