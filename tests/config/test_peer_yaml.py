"""A pipedag.yaml written for pydiverse.pipedag: keys mapped, ignored with one warning, or refused."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedag import ConfigError, PipedagConfig
from pipedag.config.peer_yaml import IgnoredConfigWarning, translate


def peer_file(tmp_path: Path, **instance: Any) -> dict[str, Any]:
    block = {
        "instance_id": "full",
        "table_store": {
            "class": "pydiverse.pipedag.backend.table.SQLTableStore",
            "args": {"url": f"duckdb:///{tmp_path}/x.duckdb", "print_sql": True, "hook_args": {"pandas": {}}},
        },
        **instance,
    }
    return {"name": "p", "strict_instance_lookup": True, "instances": {"full": block}}


def test_class_paths_map_onto_pipedag_parts(tmp_path: Path) -> None:
    """Peer class paths become pipedag's store, lock and commit settings; the config resolves."""
    raw = peer_file(
        tmp_path,
        lock_manager={"class": "pydiverse.pipedag.backend.lock.FileLockManager", "args": {"base_path": "/tmp/l"}},
        blob_store={"class": "pydiverse.pipedag.backend.blob.FileBlobStore", "args": {"base_path": "/tmp/b"}},
        orchestration={"class": "pydiverse.pipedag.engine.SequentialEngine"},
        stage_commit_technique="READ_VIEWS",
        cache_validation={"mode": "FORCE_CACHE_INVALID"},
        auto_table=["pandas.DataFrame", "sqlalchemy.sql.expression.Selectable"],
        disable_kroki=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredConfigWarning)
        cfg = PipedagConfig(raw).get("full")
    assert cfg.lock_manager == "file" and cfg.lock_dir == "/tmp/l"
    assert cfg.blob_store_class is None and cfg.blob_store_args["base_path"] == "/tmp/b"
    assert cfg.table_store_class is None and cfg.stage_commit_technique == "view_swap"
    assert cfg.cache_validation.mode == "force_cache_invalid"
    assert "print_sql" not in cfg.table_store_args


def test_ignored_keys_warn_once_naming_the_key(tmp_path: Path) -> None:
    """Each ignored key is named in one warning; loading the same file again does not repeat it."""
    path = tmp_path / "pipedag.yaml"
    path.write_text(yaml.safe_dump(peer_file(tmp_path, network_interface="127.0.0.1", kroki_url="https://k")))
    with pytest.warns(IgnoredConfigWarning) as caught:
        PipedagConfig(path)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 4
    assert any("instances.full.network_interface is ignored" in m for m in messages)
    assert any("instances.full.kroki_url is ignored" in m for m in messages)
    assert any("table_store.args.print_sql is ignored" in m for m in messages)
    assert any("table_store.args.hook_args is ignored" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredConfigWarning)
        PipedagConfig(path)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"strict_instance_lookup": False}, "strict_instance_lookup"),
        ({"flows": {"f": {}}}, "flows"),
    ],
)
def test_top_level_keys_pipedag_cannot_honour_are_refused(
    tmp_path: Path, change: dict[str, Any], path: str
) -> None:
    """strict_instance_lookup: false and a flows section are ConfigErrors naming the key."""
    raw = {**peer_file(tmp_path), **change}
    with pytest.raises(ConfigError, match=path):
        translate(raw)


@pytest.mark.parametrize(
    ("instance", "path"),
    [
        ({"table_store": {"class": "pydiverse.pipedag.backend.table.ParquetTableStore"}}, "table_store.class"),
        ({"lock_manager": {"class": "pydiverse.pipedag.backend.lock.ZooKeeperLockManager"}}, "lock_manager.class"),
        ({"stage_commit_technique": "COPY"}, "stage_commit_technique"),
    ],
)
def test_instance_keys_pipedag_cannot_honour_are_refused(
    tmp_path: Path, instance: dict[str, Any], path: str
) -> None:
    """A Parquet store, a ZooKeeper lock or an unknown commit technique are ConfigErrors with the YAML path."""
    with pytest.raises(ConfigError, match=f"instances.full.{path}"):
        translate(peer_file(tmp_path, **instance))


def test_pipedag_own_file_is_unchanged(tmp_path: Path) -> None:
    """A config already in pipedag's terms translates to itself with nothing ignored."""
    raw = {"name": "p", "instances": {"a": {"table_store": {"args": {"url": "duckdb:///x.duckdb"}}}}}
    result = translate(raw)
    assert result.config == raw and not result.ignored and not result.mapped


def test_orchestration_classes_map_to_engines_and_pipedag_blocks_stay(tmp_path: Path) -> None:
    """A peer engine class becomes pipedag's orchestration.engine; pipedag's own block is left alone."""
    dask = peer_file(tmp_path, orchestration={"class": "pydiverse.pipedag.engine.DaskEngine", "args": {}})
    assert translate(dask).config["instances"]["full"]["orchestration"] == {"engine": "dask"}
    own = peer_file(tmp_path, orchestration={"engine": "parallel", "workers": 2})
    assert translate(own).config["instances"]["full"]["orchestration"] == {"engine": "parallel", "workers": 2}
    prefect = translate(peer_file(tmp_path, orchestration={"class": "pydiverse.pipedag.engine.PrefectEngine"}))
    assert "orchestration" not in prefect.config["instances"]["full"]
    assert any("PrefectEngine" in reason for _, reason in prefect.ignored)
