"""input_stage_versions: mini/midi copy filtered inputs from full; instances stay isolated."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
import yaml

from pipedag import (
    ConfigContext,
    Flow,
    PipedagConfig,
    Stage,
    Table,
    TaskError,
    TaskState,
    create_basic_pipedag_config,
    input_stage_versions,
    materialize,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("instances_example", REPO_ROOT / "examples" / "instances.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def example_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PipedagConfig, str]]:
    """The repo-root pipedag.yaml, pointed at a temp DuckDB file or a fresh PostgreSQL database."""
    data = yaml.safe_load((REPO_ROOT / "pipedag.yaml").read_text())
    data["table_store_connections"]["duckdb"]["args"]["url"] = f"duckdb:///{tmp_path}/{{name}}.duckdb"
    database = f"pipedag_ex_{uuid.uuid4().hex[:8]}"
    data["table_store_connections"]["postgres"]["args"]["url"] = f"postgresql://{{user}}@{{host}}:{{port}}/{database}"
    (tmp_path / "pipedag.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "postgres_attrs.yaml").write_text((REPO_ROOT / "postgres_attrs.yaml").read_text())
    suffix = "" if request.param == "duckdb" else "_pg"
    if request.param == "postgres":
        request.getfixturevalue("postgres_url")
    yield PipedagConfig(tmp_path / "pipedag.yaml"), suffix
    if request.param == "postgres":
        with psycopg.connect(request.getfixturevalue("postgres_url"), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]


def _run(example: ModuleType, config: PipedagConfig, instance: str) -> tuple[Any, Any, ConfigContext]:
    cfg = config.get(instance)
    flow, revenue = example.build_flow(cfg, config)
    result = flow.run(config=cfg)
    assert result.successful
    return result, revenue, cfg


def _table(cfg: ConfigContext, stage: str, table: str) -> pd.DataFrame:
    store = cfg.create_store()
    with store:
        ref = store.load_history([stage])[stage].published_tables()[table]
        return store.read_arrow(ref.schema, ref.physical_name).to_pandas()


def test_full_midi_mini_example(example_config: tuple[PipedagConfig, str]) -> None:
    """mini and midi copy a filtered sample of full, run the same code, and never change full."""
    config, suffix = example_config
    example = _example()
    _, _, full_cfg = _run(example, config, "full" + suffix)
    full_orders = _table(full_cfg, "inputs", "orders")
    assert len(_table(full_cfg, "inputs", "customers")) == 2000

    _, _, mini_cfg = _run(example, config, "mini" + suffix)
    customers = _table(mini_cfg, "inputs", "customers")
    orders = _table(mini_cfg, "inputs", "orders")
    assert sorted(customers.id) == [0, 1, 2, 3, 4]
    assert set(orders.customer_id) <= {0, 1, 2, 3, 4}
    assert len(orders) == int(full_orders.customer_id.isin(range(5)).sum())
    _, _, midi_cfg = _run(example, config, "midi" + suffix)
    assert len(_table(midi_cfg, "inputs", "customers")) == 200

    pd.testing.assert_frame_equal(_table(full_cfg, "inputs", "orders"), full_orders)  # full untouched
    rerun, _, _ = _run(example, config, "mini" + suffix)
    assert set(rerun.task_states.values()) == {TaskState.CACHE_VALID}


def test_copy_reruns_when_source_instance_changes(example_config: tuple[PipedagConfig, str]) -> None:
    """When full publishes different inputs, mini's copy task reruns and says why."""
    config, suffix = example_config
    example = _example()
    _run(example, config, "full" + suffix)
    _run(example, config, "mini" + suffix)
    full_cfg = config.get("full" + suffix)
    changed = ConfigContext(**{**full_cfg.__dict__, "attrs": {"customers": 50}})
    flow, _ = example.build_flow(changed, config)
    assert flow.run(config=changed).successful
    result, _, _ = _run(example, config, "mini" + suffix)
    copy = result.outcomes[0]
    assert copy.state is TaskState.RAN
    assert "changed" in copy.reason and "inputs.orders" in copy.reason


def test_committed_version_of_own_stage(tmp_path: Path) -> None:
    """Without a ConfigContext argument the task sees the stage being built and its own committed version."""
    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'db.duckdb'}", fail_fast=True).get()
    seen: list[tuple[list[int], list[int]]] = []

    def build(value: int) -> Flow:
        @materialize(version=str(value))
        def data() -> pd.DataFrame:
            return pd.DataFrame({"v": [value]})

        @input_stage_versions(version="1")
        def compare(tables: dict[str, pd.DataFrame], committed: dict[str, pd.DataFrame]) -> pd.DataFrame:
            seen.append((tables["data"].v.tolist(), committed["data"].v.tolist() if "data" in committed else []))
            return pd.DataFrame({"changed": [bool(committed) and not tables["data"].equals(committed["data"])]})

        with Flow("own") as flow, Stage("s"):
            data()
            compare()
        return flow

    build(1).run(config=cfg)
    build(2).run(config=cfg)
    assert seen == [([1], []), ([2], [1])]


def test_other_database_needs_frame_input_type(tmp_path: Path) -> None:
    """Across two DuckDB files, frames are copied; sqlalchemy.Table input is refused with the fix."""
    full = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'full.duckdb'}", instance="full", fail_fast=True).get()
    mini = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'mini.duckdb'}", instance="mini", fail_fast=True).get()

    @materialize(version="1")
    def data() -> Table:
        return Table(pd.DataFrame({"v": range(10)}), "numbers")

    with Flow("x") as flow_full, Stage("s"):
        data()
    flow_full.run(config=full)

    @input_stage_versions(version="1")
    def head(tables: dict[str, Any], source: dict[str, pd.DataFrame], cfg: ConfigContext) -> Table:
        return Table(source["numbers"].head(3), "numbers")

    @input_stage_versions(version="1", input_type=sa.Table)
    def head_sql(tables: dict[str, Any], source: dict[str, Any], cfg: ConfigContext) -> Table:
        return Table(sa.select(source["numbers"]).limit(3), "numbers")

    with Flow("x") as flow_mini, Stage("s"):
        out = head(full)
    result = flow_mini.run(config=mini)
    assert result.get(out).v.tolist() == [0, 1, 2]
    with Flow("x") as flow_sql, Stage("s"):
        head_sql(full)
    with pytest.raises(TaskError, match="needs instance 'full' in the same database"):
        flow_sql.run(config=mini)


def test_source_instance_without_published_stage(tmp_path: Path) -> None:
    """Copying from an instance that never ran the stage fails with a message saying to run it first."""
    full = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'full.duckdb'}", instance="full", fail_fast=True).get()
    mini = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'mini.duckdb'}", instance="mini", fail_fast=True).get()

    @input_stage_versions(version="1")
    def copy(tables: dict[str, Any], source: dict[str, Any], cfg: ConfigContext) -> None:
        return None

    with Flow("x") as flow, Stage("s"):
        copy(full)
    with pytest.raises(TaskError, match="no published version of stage 's'; run the flow on 'full' first"):
        flow.run(config=mini)


def test_plan_predicts_copy_without_running(tmp_path: Path) -> None:
    """A dry-run plan decides an input_stage_versions task from the source's keys without calling it."""
    from pipedag.engine.plan import plan_flow

    full = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'full.duckdb'}", instance="full", fail_fast=True).get()
    mini = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'mini.duckdb'}", instance="mini", fail_fast=True).get()
    calls: list[int] = []

    def full_flow(n: int) -> Flow:
        @materialize(version=str(n))
        def data() -> Table:
            return Table(pd.DataFrame({"v": range(n)}), "numbers")

        with Flow("x") as flow, Stage("s"):
            data()
        return flow

    @input_stage_versions(version="1")
    def head(tables: dict[str, Any], source: dict[str, pd.DataFrame], cfg: ConfigContext) -> Table:
        calls.append(1)
        return Table(source["numbers"].head(2), "numbers")

    with Flow("x") as mini_flow, Stage("s"):
        head(full)
    full_flow(5).run(config=full)
    mini_flow.run(config=mini)
    assert plan_flow(mini_flow, mini).task("s.head").action == "cache-valid"
    full_flow(6).run(config=full)
    planned = plan_flow(mini_flow, mini).task("s.head")
    assert planned.action == "run" and "input full:s.numbers changed" in planned.reason
    assert calls == [1]


def test_code_version_applies_to_stage_versions_tasks(tmp_path: Path) -> None:
    """version=CODE_VERSION resolves to a code hash, and a task's own committed output is not its input."""
    from pipedag import CODE_VERSION

    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'db.duckdb'}", fail_fast=True).get()

    @input_stage_versions(version=CODE_VERSION)
    def snapshot(tables: dict[str, Any], committed: dict[str, Any]) -> pd.DataFrame:
        return pd.DataFrame({"versions": [len(committed)]})

    with Flow("cv") as flow, Stage("s"):
        snapshot()
    first = flow.run(config=cfg)
    assert first.outcomes[0].state is TaskState.RAN
    # Its own committed output is not an input of its cache key, so the rerun is a cache hit.
    assert flow.run(config=cfg).outcomes[0].state is TaskState.CACHE_VALID
    store = cfg.create_store()
    with store:
        record = store.load_history(["s"])["s"].last_record("snapshot")
    assert record is not None and record.ingredients.version not in (None, "CODE_VERSION")
