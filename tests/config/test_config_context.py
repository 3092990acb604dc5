"""``ConfigContext``: `with cfg:` blocks per thread, pickling, and the orchestration settings."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest

from pipedag import ConfigContext, ConfigError, PipedagConfig, StateError, create_basic_pipedag_config
from pipedag.config.context import Orchestration, active_config


def _config(name: str, tmp_path: Path) -> ConfigContext:
    return create_basic_pipedag_config(f"duckdb:///{tmp_path / name}.duckdb").get()


def test_two_threads_use_two_configs_at_once(tmp_path: Path) -> None:
    """Two threads inside their own `with cfg:` blocks, interleaved, each see their own config."""
    configs = [_config("a", tmp_path), _config("b", tmp_path)]
    barrier = threading.Barrier(2)
    seen: dict[int, list[ConfigContext | None]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with configs[i]:
                barrier.wait(5)  # both blocks are open at once
                seen[i].append(active_config())
                barrier.wait(5)
            seen[i].append(active_config())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == {0: [configs[0], None], 1: [configs[1], None]}


def test_the_same_config_entered_in_two_threads(tmp_path: Path) -> None:
    """One config object entered by two threads at once exits cleanly in both (no shared token stack)."""
    cfg = _config("a", tmp_path)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with cfg:
                barrier.wait(5)
                assert active_config() is cfg
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_blocks_exited_out_of_order_fail_clearly(tmp_path: Path) -> None:
    """Exiting an outer `with` block before the inner one raises a StateError naming the instance."""
    outer, inner = _config("a", tmp_path), _config("b", tmp_path)
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(StateError, match="exited out of order"):
        outer.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    outer.__exit__(None, None, None)
    assert active_config() is None


def test_config_context_pickles(tmp_path: Path) -> None:
    """A ConfigContext survives pickling with its read-only mappings intact."""
    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'x'}.duckdb").get()
    cfg = type(cfg)(**{**cfg.__dict__, "attrs": {"sample": 10}})
    copy = pickle.loads(pickle.dumps(cfg))
    assert copy == cfg
    assert copy.attrs["sample"] == 10
    with pytest.raises(TypeError):
        copy.attrs["sample"] = 11  # type: ignore[index]


def test_orchestration_from_yaml() -> None:
    """pipedag.yaml's orchestration block selects the engine and its worker count."""
    source = {
        "name": "p",
        "instances": {
            "full": {
                "table_store": {"args": {"url": "duckdb:///x.duckdb"}},
                "orchestration": {"engine": "parallel", "workers": 3},
            }
        },
    }
    cfg = PipedagConfig(source).get("full")
    assert cfg.orchestration == Orchestration(engine="parallel", workers=3)
    bad = {**source, "instances": {"full": {**source["instances"]["full"], "orchestration": {"engine": "ray"}}}}
    with pytest.raises(ConfigError, match=r"instances.full.orchestration.engine is 'ray'; allowed: sequential"):
        PipedagConfig(bad).get("full")
