"""Blobs: any picklable object round-trips, is cached and is published with its stage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipedag import Blob, ConfigContext, Flow, Stage, TaskError, TaskState, materialize
from pipedag.store.blob_store import MANIFEST, FileBlobStore, blob_root


class Model:
    """A stand-in for a trained model."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


def _flow(weights: list[float], version: str, fail: bool = False) -> tuple[Flow, Any, Any]:
    @materialize(name="train", version=version)
    def train() -> Any:
        return Blob(Model(weights), "model")

    @materialize(name="score", version="1.0")
    def score(model: Model) -> Any:
        if fail:
            raise RuntimeError("scoring failed")
        return {"total": sum(model.weights)}

    with Flow("blobs") as flow, Stage("models"):
        model = train()
        total = score(model)
    return flow, model, total


def _blob_files(config: ConfigContext) -> set[str]:
    store = config.create_store()
    with store:
        return FileBlobStore(blob_root(config, store), config.instance_id).existing("models")


def test_blob_round_trips_and_is_cached(duckdb_config: ConfigContext) -> None:
    """A model written by one task reaches the next unpickled, and a rerun is a cache hit."""
    flow, model, total = _flow([1.0, 2.0], "1")
    result = flow.run(config=duckdb_config)
    assert result.get(model).weights == [1.0, 2.0]
    assert result.get(total) == {"total": 3.0}
    flow, model, _ = _flow([1.0, 2.0], "1")
    result = flow.run(config=duckdb_config)
    assert result.task_states == {"models.train": TaskState.CACHE_VALID, "models.score": TaskState.CACHE_VALID}


def test_blob_is_published_with_its_stage(duckdb_config: ConfigContext) -> None:
    """A failing stage keeps the old blob published and leaves no new file; a good run replaces it."""
    flow, _, _ = _flow([1.0], "1")
    flow.run(config=duckdb_config)
    before = _blob_files(duckdb_config)
    flow, _, _ = _flow([5.0], "2", fail=True)
    result = flow.run(config=duckdb_config, fail_fast=False)
    assert not result.successful
    assert _blob_files(duckdb_config) == before  # the new model was written, then removed with the stage
    flow, model, _ = _flow([7.0], "3")
    result = flow.run(config=duckdb_config)
    assert result.get(model).weights == [7.0]
    store = duckdb_config.create_store()
    with store:
        folder = FileBlobStore(blob_root(duckdb_config, store), duckdb_config.instance_id).stage_folder("models")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["model"] in _blob_files(duckdb_config)


def test_old_blob_versions_are_collected(duckdb_config: ConfigContext) -> None:
    """Blob files older than keep_stage_versions are deleted like old tables."""
    for version in ("1", "2", "3", "4"):
        flow, _, _ = _flow([float(version)], version)
        flow.run(config=duckdb_config)
    assert len(_blob_files(duckdb_config)) == duckdb_config.keep_stage_versions


def test_unpicklable_blob_is_named(duckdb_config: ConfigContext) -> None:
    """An object that cannot be pickled fails the task with the blob's name."""

    @materialize(version="1")
    def bad() -> Any:
        return Blob(lambda: 1, "callback")

    with Flow("bad") as flow, Stage("models"):
        bad()
    with pytest.raises(TaskError, match="Blob 'callback' holds a function that cannot be pickled"):
        flow.run(config=duckdb_config)


def test_blob_folder_from_config(duckdb_config: ConfigContext, tmp_path: Any) -> None:
    """blob_store_args.base_path puts the files under <base_path>/<instance_id>/<stage>/."""
    import dataclasses

    config = dataclasses.replace(duckdb_config, blob_store_args={"base_path": str(tmp_path / "shared_blobs")})
    flow, _, _ = _flow([1.0], "1")
    flow.run(config=config)
    files = list((tmp_path / "shared_blobs" / config.instance_id / "models").glob("model__*.pkl"))
    assert len(files) == 1
