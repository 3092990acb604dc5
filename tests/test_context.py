"""pipedag.context: tasks see their config, task and run; ConfigContext.get/evolve."""

from __future__ import annotations

import pytest

from pipedag import CacheValidationMode, ConfigContext, ConfigError, Flow, Stage, StateError, materialize
from pipedag.context import RunContext, StageLockContext, TaskContext


@materialize
def introspect() -> dict[str, object]:
    cfg = ConfigContext.get()
    task = TaskContext.get().task
    run = RunContext.get()
    return {
        "instance": cfg.instance_id,
        "task": task.name,
        "stage": task.stage.name,
        "flow": run.flow.name if run.flow else None,
        "run_id": run.run_id,
    }


def test_task_sees_its_config_task_and_run(store_config: ConfigContext) -> None:
    """Inside a task, ConfigContext.get(), TaskContext.get() and RunContext.get() describe the running task."""
    with Flow("introspection") as flow, Stage("s1"):
        out = introspect()
    result = flow.run(config=store_config)
    seen = result.get(out)
    assert seen == {
        "instance": store_config.instance_id,
        "task": "introspect",
        "stage": "s1",
        "flow": "introspection",
        "run_id": result.run_id,
    }


def test_getters_outside_a_task_raise_state_error() -> None:
    """Outside a task and a `with cfg:` block, the getters raise StateError."""
    for getter in (ConfigContext.get, TaskContext.get, RunContext.get):
        with pytest.raises(StateError, match="inside"):
            getter()


def test_config_get_returns_the_with_block_config(duckdb_config: ConfigContext) -> None:
    """ConfigContext.get() returns the innermost active `with cfg:` config."""
    with duckdb_config:
        assert ConfigContext.get() is duckdb_config


def test_evolve_changes_settings_and_accepts_mode_enum(duckdb_config: ConfigContext) -> None:
    """evolve() copies with changes; cache_validation may be a CacheValidationMode; unknown names fail."""
    changed = duckdb_config.evolve(fail_fast=False, cache_validation=CacheValidationMode.FORCE_CACHE_INVALID)
    assert changed.fail_fast is False and changed.cache_validation.mode == "force_cache_invalid"
    assert duckdb_config.cache_validation.mode == "normal"
    with pytest.raises(ConfigError, match="unknown settings"):
        duckdb_config.evolve(fail_fsat=True)


def test_stage_lock_context_is_reexported() -> None:
    """pipedag.context re-exports StageLockContext, as pydiverse.pipedag programs import it from there."""
    import pipedag

    assert StageLockContext is pipedag.StageLockContext
