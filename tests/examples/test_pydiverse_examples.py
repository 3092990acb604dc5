"""pydiverse.pipedag-style programs in examples/ run with only their imports renamed, on DuckDB and PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import urlparse

import pandas as pd
import pytest

from pipedag import ConfigContext, PipedagConfig, TaskState, create_basic_pipedag_config
from pipedag.config.peer_yaml import IgnoredConfigWarning

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(relative: str) -> ModuleType:
    """Import an example program by path (examples/ is no package)."""
    path = EXAMPLES / relative
    name = "example_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def peer_config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> ConfigContext:
    """A config built the way the peer's examples build it (disable_stage_locking), on the backend under test."""
    if backend == "duckdb":
        url, prefix = f"duckdb:///{tmp_path / 'db.duckdb'}", ""
    else:
        url, prefix = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_prefix")
    return create_basic_pipedag_config(url, disable_stage_locking=True, schema_prefix=prefix).get("default")


def states(result) -> set[TaskState]:  # type: ignore[no-untyped-def]
    return {o.state for o in result.outcomes}


def test_quickstart_runs(peer_config: ConfigContext, capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart program's flow runs and its pandas task prints the joined table."""
    quickstart = load("pydiverse_quickstart.py")
    flow, priced = quickstart.build_flow()
    result = flow.run(config=peer_config)
    assert result.successful
    assert "plum" in capsys.readouterr().out
    assert result.get(priced)["price"].tolist() == [0.5, 0.8, 0.3]


def test_simple_pipeline_second_run_is_cache_valid(peer_config: ConfigContext) -> None:
    """The simple pipeline runs, reruns fully cache-valid, and reads results inside StageLockContext."""
    first, second, merged = load("pydiverse_simple_pipeline.py").run(peer_config)
    assert states(first) == {TaskState.RAN}
    assert states(second) == {TaskState.CACHE_VALID}
    assert sorted(merged.columns) == ["k", "scale", "sensor", "value"]
    assert merged["value"].tolist() == [3, 4]


def test_imperative_materialization(peer_config: ConfigContext) -> None:
    """Tasks materializing tables (and a subquery) while running give correct, cached results."""
    first, second, cities = load("pydiverse_imperative.py").run(peer_config)
    assert states(first) == {TaskState.RAN}
    assert states(second) == {TaskState.CACHE_VALID}
    assert dict(zip(cities["city"], cities["total"], strict=True)) == {"Bergen": 11, "Oslo": 25}


def test_stage_validation_reports_the_dropped_column(peer_config: ConfigContext) -> None:
    """The validation task compares the stage with its published version and finds the dropped column."""
    diffs = load("pydiverse_stage_validation.py").run(peer_config)
    assert diffs.to_dict("records") == [{"table": "items", "column": "colour", "value": "missing"}]


def test_interactive_fix_keeps_the_last_materialization(peer_config: ConfigContext) -> None:
    """A table materialized again under the same name replaces the first; extra tables are published."""
    table, extra = load("pydiverse_interactive.py").run(peer_config)
    assert table["a"].tolist() == ["done"]
    assert extra == [(4,)]


@pytest.fixture
def multi_instance_config(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> tuple[PipedagConfig, str]:
    """The example's peer-style pipedag.yaml, its environment pointing at the backend under test."""
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    suffix = ""
    if backend == "postgres":
        url = urlparse(request.getfixturevalue("postgres_url"))
        attrs = tmp_path / "postgres_password.yaml"
        attrs.write_text(
            f"username: {url.username}\nhost: {url.hostname}\nport: {url.port}\ndatabase: {url.path.lstrip('/')}\n"
        )
        monkeypatch.setenv("POSTGRES_PASSWORD_CFG", str(attrs))
        monkeypatch.setenv("PIPELINE_SCHEMA_PREFIX", request.getfixturevalue("pg_prefix"))
        suffix = "_pg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredConfigWarning)
        config = PipedagConfig(EXAMPLES / "pydiverse_multi_instance" / "pipedag.yaml")
    return config, suffix


def test_multi_instance_full_then_mini_and_midi(multi_instance_config: tuple[PipedagConfig, str]) -> None:
    """full loads the source; mini and midi copy its first rows with SQL, rerun cache-valid, and follow a new full."""
    program = load("pydiverse_multi_instance/multi_instance_pipeline.py")
    config, suffix = multi_instance_config
    source = program.measurements
    result, stations2, rain4 = program.run_instance(config, "full" + suffix)
    pd.testing.assert_frame_equal(rain4, source * 4, check_dtype=False)
    for instance, rows in (("mini", 1), ("midi", 3)):
        result, stations2, rain4 = program.run_instance(config, instance + suffix)
        assert states(result) == {TaskState.RAN}
        pd.testing.assert_frame_equal(rain4, source.head(rows) * 4, check_dtype=False)
        pd.testing.assert_frame_equal(stations2, source[["station"]].head(rows) * 2, check_dtype=False)
    again, _, _ = program.run_instance(config, "mini" + suffix)
    assert states(again) == {TaskState.CACHE_VALID}
    # full publishes new input: mini's cache function (get_stage_hash of full's stage) makes it copy again
    program.measurements = source.assign(rain=source["rain"] + 1)
    program.run_instance(config, "full" + suffix)
    result, _, rain4 = program.run_instance(config, "mini" + suffix)
    assert result.task_states["stage_1.copy_sample"] is TaskState.RAN
    assert rain4["rain"].tolist() == [(10 + 1) * 4]
