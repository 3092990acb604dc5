"""Broken pipedag.yaml files: every variant is a ConfigError naming the YAML path (or file and line) of the mistake."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedag import ConfigError, PipedagConfig

BASE: dict[str, Any] = {
    "name": "demo",
    "table_store_connections": {"duck": {"args": {"url": "duckdb:///{$PIPEDAG_FUZZ_DIR}/{instance_id}.duckdb"}}},
    "blob_store_connections": {"files": {"class": "FileBlobStore", "args": {"base_path": "blobs"}}},
    "technical_setups": {"default": {"fail_fast": False}},
    "instances": {
        "__any__": {"technical_setup": "default", "table_store": {"table_store_connection": "duck"}},
        "mini": {
            "instance_id": "mini",
            "tags": ["fast"],
            "attrs": {"n": 10},
            "table_store": {"args": {"schema_prefix": "{instance_id}_"}},
            "blob_store": {"blob_store_connection": "files"},
            "lock_manager": {"class": "file", "args": {"timeout": 5}},
            "cache_validation": {"mode": "normal"},
        },
    },
}

MINI = ("instances", "mini")


def put(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting the key at ``path`` (creating mappings on the way)."""

    def mutate(doc: dict[str, Any]) -> None:
        block = doc
        for key in path[:-1]:
            block = block.setdefault(key, {})
        block[path[-1]] = value

    return mutate


def drop(*path: str) -> Callable[[dict[str, Any]], None]:
    """A mutation removing the key at ``path``."""

    def mutate(doc: dict[str, Any]) -> None:
        block = doc
        for key in path[:-1]:
            block = block[key]
        del block[path[-1]]

    return mutate


ARGS = (*MINI, "table_store", "args")
LOCK = (*MINI, "lock_manager")

#: (id, mutation of BASE, text the error must contain: the YAML path of the mistake)
MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("negative-timeout", put(*LOCK, "args", "timeout", value=-5), "instances.mini.lock_manager.args.timeout"),
    ("text-timeout", put(*LOCK, "args", "timeout", value="soon"), "instances.mini.lock_manager.args.timeout"),
    ("bool-timeout", put(*LOCK, "args", "timeout", value=True), "instances.mini.lock_manager.args.timeout"),
    ("unknown-lock-class", put(*LOCK, "class", value="redis"), "instances.mini.lock_manager.class"),
    ("unknown-lock-arg", put(*LOCK, "args", "retries", value=3), "instances.mini.lock_manager.args.retries"),
    ("unclosed-lock-dir", put(*LOCK, "args", "lock_dir", value="{instance_id"), "instances.mini.lock_manager.args"),
    ("zero-versions", put(*MINI, "keep_stage_versions", value=0), "instances.mini.keep_stage_versions"),
    ("bool-versions", put(*MINI, "keep_stage_versions", value=True), "instances.mini.keep_stage_versions"),
    ("text-versions", put(*MINI, "keep_stage_versions", value="2"), "instances.mini.keep_stage_versions"),
    ("text-fail-fast", put(*MINI, "fail_fast", value="yes"), "instances.mini.fail_fast"),
    ("empty-instance-id", put(*MINI, "instance_id", value=""), "instances.mini.instance_id"),
    ("blank-instance-id", put(*MINI, "instance_id", value="  "), "instances.mini.instance_id"),
    ("number-instance-id", put(*MINI, "instance_id", value=5), "instances.mini.instance_id"),
    ("misspelt-key", put(*MINI, "instnace_id", value="x"), "instances.mini.instnace_id"),
    ("unknown-top-key", put("instance", value={}), "pipedag.yaml.instance"),
    ("instances-list", put("instances", value=[]), "pipedag.yaml.instances"),
    ("instance-text", put(*MINI, value="mini"), "instances.mini"),
    ("tags-text", put(*MINI, "tags", value="fast"), "instances.mini.tags"),
    ("tags-numbers", put(*MINI, "tags", value=[1]), "instances.mini.tags"),
    ("attrs-list", put(*MINI, "attrs", value=[1, 2]), "instances.mini.attrs"),
    ("unknown-cache-mode", put(*MINI, "cache_validation", "mode", value="sometimes"), "cache_validation.mode"),
    ("number-cache-flag", put(*MINI, "cache_validation", "ignore_task_version", value=1), "ignore_task_version"),
    ("unknown-commit", put(*MINI, "stage_commit_technique", value="copy"), "instances.mini.stage_commit_technique"),
    ("auto-default-version", put(*MINI, "default_version", value="AUTO_VERSION"), "instances.mini.default_version"),
    ("name-number", put("name", value=5), "pipedag.yaml.name"),
    ("dangling-connection", put("instances", "__any__", "table_store", "table_store_connection", value="nope"),
     "instances.__any__.table_store.table_store_connection"),
    ("dangling-setup", put("instances", "__any__", "technical_setup", value="nope"),
     "instances.__any__.technical_setup"),
    ("setup-names-setup", put("technical_setups", "default", "technical_setup", value="default"),
     "technical_setups.default.technical_setup"),
    ("setup-bad-type", put("technical_setups", "default", "fail_fast", value="no"),
     "technical_setups.default.fail_fast"),
    ("setup-empty-id", put("technical_setups", "default", "instance_id", value=""),
     "technical_setups.default.instance_id"),
    ("s3-blob-store", put(*MINI, "blob_store", "class", value="S3BlobStore"), "instances.mini.blob_store.class"),
    ("s3-blob-connection", put("blob_store_connections", "files", "class", value="S3BlobStore"),
     "blob_store_connections.files.class"),
    ("s3-blob-type", put(*MINI, "blob_store", "type", value="s3"), "instances.mini.blob_store.type"),
    ("dangling-blob-connection", put(*MINI, "blob_store", "blob_store_connection", value="nope"),
     "instances.mini.blob_store.blob_store_connection"),
    ("unknown-store-class", put(*MINI, "table_store", "class", value="oracle"), "instances.mini.table_store.class"),
    ("missing-url", drop("table_store_connections", "duck", "args", "url"), "instances.mini.table_store.args.url"),
    ("unclosed-url", put(*ARGS, "url", value="duckdb:///{instance_id_.duckdb"), "instances.mini.table_store.args.url"),
    ("stray-close", put(*ARGS, "url", value="duckdb:///x}.duckdb"), "instances.mini.table_store.args.url"),
    ("unknown-placeholder", put(*ARGS, "url", value="duckdb:///{instnce_id}.duckdb"),
     "instances.mini.table_store.args.url"),
    ("unset-env", put(*ARGS, "url", value="duckdb:///{$PIPEDAG_FUZZ_UNSET}/x.duckdb"),
     "instances.mini.table_store.args.url"),
    ("unclosed-prefix", put(*ARGS, "schema_prefix", value="{instance_id_"),
     "instances.mini.table_store.args.schema_prefix"),
    ("number-prefix", put(*ARGS, "schema_prefix", value=5), "instances.mini.table_store.args.schema_prefix"),
    ("unknown-store-arg", put(*ARGS, "passwort", value="x"), "instances.mini.table_store.args.passwort"),
    ("number-url", put("table_store_connections", "duck", "args", "url", value=5),
     "table_store_connections.duck.args.url"),
    ("misspelt-connection-key", put("table_store_connections", "duck", "argz", value={}),
     "table_store_connections.duck.argz"),
    ("missing-attrs-file", put(*ARGS, "url_attrs_file", value="nowhere.yaml"), "instances.mini.table_store.args"),
    ("unclosed-user-template", put(*MINI, "per_user_template", value="{id}_{username"),
     "instances.mini.per_user_template"),
    ("twin-instances", put("instances", "other", value=copy.deepcopy(BASE["instances"]["mini"])), "'mini' and 'other'"),
]

#: (id, pipedag.yaml text, text the error must contain)
TEXTS: list[tuple[str, str, str]] = [
    ("duplicate-key", "instances:\n  mini:\n    instance_id: a\n    instance_id: b\n",
     "instances.mini.instance_id is given twice"),
    ("duplicate-instance", "instances:\n  mini: {}\n  mini: {fail_fast: true}\n", "instances.mini is given twice"),
    ("duplicate-top-key", "name: a\ninstances: {}\nname: b\n", "pipedag.yaml.name is given twice"),
    ("duplicate-in-list", "instances:\n  mini:\n    tags: [{a: 1, a: 2}]\n", "instances.mini.tags[0].a is given twice"),
    ("unclosed-flow-list", "instances:\n  mini: [unclosed\n", "line"),
    ("bad-indent", "instances:\n  mini:\n    fail_fast: true\n   tags: []\n", "line"),
    ("tab-indent", "instances:\n\tmini: {}\n", "line"),
    ("empty-file", "", "must contain a mapping"),
    ("top-level-list", "- name: a\n", "must contain a mapping"),
]


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Write a pipedag.yaml into the test's folder and return its path."""
    monkeypatch.setenv("PIPEDAG_FUZZ_DIR", str(tmp_path))
    monkeypatch.delenv("PIPEDAG_FUZZ_UNSET", raising=False)
    monkeypatch.chdir(tmp_path)

    def writer(text: str) -> Path:
        path = tmp_path / "pipedag.yaml"
        path.write_text(text)
        return path

    return writer


def _load_all(path: Path) -> None:
    config = PipedagConfig(path)
    for name in config.instance_names:
        config.get(name)
        config.get(name, per_user=True)


def test_base_file_is_valid(write: Callable[[str], Path]) -> None:
    """The unbroken file loads, so each variant below fails for its own mistake only."""
    _load_all(write(yaml.safe_dump(BASE)))


@pytest.mark.parametrize(("mutation", "where"), [pytest.param(m, w, id=i) for i, m, w in MUTATIONS])
def test_broken_value_names_its_yaml_path(
    write: Callable[[str], Path], mutation: Callable[[dict[str, Any]], None], where: str
) -> None:
    """A wrong value, key or reference anywhere in pipedag.yaml is a ConfigError naming its YAML path."""
    doc = copy.deepcopy(BASE)
    mutation(doc)
    with pytest.raises(ConfigError) as raised:
        _load_all(write(yaml.safe_dump(doc)))
    assert where in str(raised.value)


@pytest.mark.parametrize(("text", "where"), [pytest.param(t, w, id=i) for i, t, w in TEXTS])
def test_broken_yaml_names_its_place(write: Callable[[str], Path], text: str, where: str) -> None:
    """Duplicate keys and YAML syntax errors are ConfigErrors naming the YAML path or the file and line."""
    path = write(text)
    with pytest.raises(ConfigError) as raised:
        _load_all(path)
    assert where in str(raised.value)
    assert str(path) in str(raised.value) or "pipedag.yaml." in str(raised.value)


def test_there_are_at_least_forty_variants() -> None:
    """The fuzz set stays broad: 40 or more broken files."""
    assert len(MUTATIONS) + len(TEXTS) >= 40
