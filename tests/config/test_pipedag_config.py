"""PipedagConfig: loading, inheritance, expansion and every validation error of pipedag.yaml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipedag import ConfigContext, ConfigError, PipedagConfig, create_basic_pipedag_config
from pipedag.config.pipedag_config import find_config_file

REPO_ROOT = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {
    "name": "pipe",
    "table_store_connections": {
        "duck": {"args": {"url": "duckdb:///{$PIPEDAG_TEST_DIR}/{name}.duckdb"}},
        "pg": {"args": {"url": "postgresql://postgres@127.0.0.1:5432/test", "create_database_if_not_exists": False}},
    },
    "technical_setups": {
        "local": {"table_store": {"table_store_connection": "duck"}, "fail_fast": True},
        "team": {"table_store": {"table_store_connection": "pg"}, "lock_manager": {"class": "database"}},
    },
    "instances": {
        "__any__": {
            "technical_setup": "local",
            "attrs": {"sample": {"rows": 100, "seed": 1}, "owner": "any"},
            "table_store": {"args": {"schema_prefix": "{instance_id}_"}},
            "cache_validation": {"mode": "normal"},
        },
        "full": {"instance_id": "full_id", "attrs": {"sample": {"rows": None}}},
        "midi": {"instance_id": "midi"},
        "mini": {"instance_id": "mini", "technical_setup": "team", "fail_fast": False},
    },
}


@pytest.fixture(autouse=True)
def _test_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPEDAG_TEST_DIR", str(tmp_path))


def config(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE with dotted-path changes applied (value None deletes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        block = data
        for part in parents:
            block = block.setdefault(part, {})
        if value is None:
            block.pop(last, None)
        else:
            block[last] = value
    return data


def test_get_returns_immutable_context_with_merged_layers(tmp_path: Path) -> None:
    """An instance inherits __any__ and its technical setup; attrs merge deeply, scalars replace."""
    cfg = PipedagConfig(config()).get("full")
    assert isinstance(cfg, ConfigContext)
    assert cfg.instance_id == "full_id"
    assert cfg.table_store_url == f"duckdb:///{tmp_path}/pipe.duckdb"
    assert cfg.schema_prefix == "full_id_"
    assert cfg.fail_fast is True  # from technical setup "local"
    assert dict(cfg.attrs) == {"sample": {"rows": None, "seed": 1}, "owner": "any"}
    with pytest.raises(TypeError):
        cfg.attrs["x"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        cfg.instance_id = "other"  # type: ignore[misc]


def test_instance_overrides_technical_setup_which_overrides_any() -> None:
    """Layer order: __any__ < technical setup < instance, and a connection sits under its table_store."""
    cfg = PipedagConfig(config()).get("mini")
    assert cfg.table_store_url.startswith("postgresql://")
    assert cfg.fail_fast is False
    assert cfg.lock_manager == "database"
    assert cfg.schema_prefix == "mini_"
    assert cfg.table_store_args == {"create_database_if_not_exists": False}


def test_first_instance_is_the_default() -> None:
    """get() without a name returns the first instance in file order (skipping __any__)."""
    assert PipedagConfig(config()).get().instance_name == "full"


def test_unknown_instance_suggests_the_closest() -> None:
    """A typo in an instance name says which one was meant and lists all."""
    with pytest.raises(ConfigError, match=r"Unknown instance 'mnii'.*Did you mean 'mini'\?.*Known: full, midi, mini"):
        PipedagConfig(config()).get("mnii")


def test_unknown_key_names_yaml_path_and_suggestion() -> None:
    """An unknown key anywhere (even in an instance not requested) names its path and the likely key."""
    expected = r"instances\.midi\.table_store\.args\.schema_prefx.*Did you mean 'schema_prefix'"
    with pytest.raises(ConfigError, match=expected):
        PipedagConfig(config(instances__midi__table_store={"args": {"schema_prefx": "x"}}))
    with pytest.raises(ConfigError, match=r"pipedag\.yaml\.instance .*Did you mean 'instances'"):
        PipedagConfig({**config(), "instance": {}})


def test_wrong_type_names_path_and_expected_type() -> None:
    """A value of the wrong type names the path, the expected and the found type."""
    with pytest.raises(ConfigError, match=r"instances\.full\.fail_fast must be true/false, got str 'yes'"):
        PipedagConfig(config(instances__full__fail_fast="yes"))
    with pytest.raises(ConfigError, match=r"instances\.full\.keep_stage_versions must be an integer, got bool"):
        PipedagConfig(config(instances__full__keep_stage_versions=True))
    with pytest.raises(ConfigError, match=r"instances\.full\.attrs must be a mapping, got a list"):
        PipedagConfig(config(instances__full__attrs=[1]))


def test_bad_choice_names_allowed_values() -> None:
    """A cache_validation mode outside the allowed set is rejected with a suggestion."""
    expected = r"cache_validation\.mode is 'force_cache_invalidd'.*Did you mean 'force_cache_invalid'"
    with pytest.raises(ConfigError, match=expected):
        PipedagConfig(config(instances__full__cache_validation={"mode": "force_cache_invalidd"}))


def test_missing_connection_and_setup_name_their_path() -> None:
    """References to undefined connections or technical setups fail at load time with suggestions."""
    with pytest.raises(
        ConfigError, match=r"instances\.midi\.table_store\.table_store_connection names 'dcuk'.*Did you mean 'duck'"
    ):
        PipedagConfig(config(instances__midi__table_store={"table_store_connection": "dcuk"}))
    with pytest.raises(ConfigError, match=r"instances\.midi\.technical_setup names 'tema'.*Did you mean 'team'"):
        PipedagConfig(config(instances__midi__technical_setup="tema"))


def test_missing_url_explains_how_to_provide_one() -> None:
    """An instance without any URL gets an error naming the path of the missing key."""
    data = config()
    del data["instances"]["__any__"]["technical_setup"]
    with pytest.raises(ConfigError, match=r"instances\.full\.table_store\.args\.url is missing"):
        PipedagConfig(data).get("full")


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """{$VAR} with VAR unset names the variable and the YAML path."""
    monkeypatch.delenv("PIPEDAG_TEST_DIR")
    with pytest.raises(ConfigError, match=r"instances\.full\.table_store\.args\.url uses \{\$PIPEDAG_TEST_DIR\}"):
        PipedagConfig(config()).get("full")


def test_unknown_placeholder_suggests_known_ones() -> None:
    """A misspelt placeholder is reported with the closest known one."""
    data = config(instances__midi__table_store={"args": {"schema_prefix": "{instance_idd}_"}})
    with pytest.raises(ConfigError, match=r"unknown placeholder \{instance_idd\}.*Did you mean 'instance_id'"):
        PipedagConfig(data).get("midi")


def test_username_and_literal_braces_expand(monkeypatch: pytest.MonkeyPatch) -> None:
    """{username} expands to the OS user made SQL-friendly; doubled braces stay literal."""
    monkeypatch.setenv("LOGNAME", "John.Doe")
    data = config(instances__midi__table_store={"args": {"schema_prefix": "{username}_{{x}}_"}})
    assert PipedagConfig(data).get("midi").schema_prefix == "john_doe_{x}_"


def test_per_user_instance_gets_own_id_and_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    """per_user=True applies per_user_template to instance_id, and {instance_id} follows it."""
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    shared = PipedagConfig(config()).get("midi")
    own = PipedagConfig(config()).get("midi", per_user=True)
    assert (shared.instance_id, own.instance_id) == ("midi", "midi_alice")
    assert own.schema_prefix == "midi_alice_"
    assert own.per_user and not shared.per_user
    custom = config(instances__midi__per_user_template="{username}__{id}")
    assert PipedagConfig(custom).get("midi", per_user=True).instance_id == "alice__midi"


def test_url_attrs_file_supplies_placeholders(tmp_path: Path) -> None:
    """Values from url_attrs_file (relative to pipedag.yaml) fill URL placeholders, e.g. a password."""
    (tmp_path / "secret.yaml").write_text("password: s3cret\nport: 5433\n")
    data = config()
    data["table_store_connections"]["pg"]["args"] = {
        "url": "postgresql://postgres:{password}@localhost:{port}/db",
        "url_attrs_file": "secret.yaml",
    }
    (tmp_path / "pipedag.yaml").write_text(yaml.safe_dump(data))
    cfg = PipedagConfig(tmp_path / "pipedag.yaml").get("mini")
    assert cfg.table_store_url == "postgresql://postgres:s3cret@localhost:5433/db"
    (tmp_path / "secret.yaml").unlink()
    with pytest.raises(ConfigError, match=r"url_attrs_file .*secret\.yaml' does not exist"):
        PipedagConfig(tmp_path / "pipedag.yaml").get("mini")


def test_unknown_table_store_class_is_rejected() -> None:
    """An explicit table_store class must name a known store; the URL scheme is the default."""
    with pytest.raises(ConfigError, match=r"instances\.midi\.table_store\.class is 'duckbd'.*Did you mean 'duckdb'"):
        PipedagConfig(config(instances__midi__table_store={"class": "duckbd"})).get("midi")
    assert PipedagConfig(config(instances__midi__table_store={"class": "DuckDBTableStore"})).get("midi")


def test_find_config_file_env_and_parents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pipedag.yaml/.yml is found via $PIPEDAG_CONFIG (file or folder), else in the folder's parents."""
    (tmp_path / "pipedag.yml").write_text(yaml.safe_dump(config()))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.delenv("PIPEDAG_CONFIG", raising=False)
    assert find_config_file(nested) == tmp_path / "pipedag.yml"
    monkeypatch.setenv("PIPEDAG_CONFIG", str(tmp_path))
    assert find_config_file(Path("/")) == tmp_path / "pipedag.yml"
    monkeypatch.chdir(nested)
    assert PipedagConfig.default.get("midi").instance_id == "midi"
    monkeypatch.setenv("PIPEDAG_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="does not exist"):
        find_config_file()


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    """A file that is not YAML (or not a mapping) raises ConfigError naming the file."""
    (tmp_path / "pipedag.yaml").write_text("instances: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        PipedagConfig(tmp_path / "pipedag.yaml")


def test_repo_root_example_resolves_every_instance() -> None:
    """The repo-root pipedag.yaml loads and each of its six instances resolves to distinct schemas."""
    config = PipedagConfig(REPO_ROOT / "pipedag.yaml")
    assert config.instance_names == ["full", "midi", "mini", "full_pg", "midi_pg", "mini_pg"]
    resolved = [config.get(name) for name in config.instance_names]
    places = {(c.table_store_url, c.schema_prefix) for c in resolved}
    assert len(places) == 6
    assert resolved[3].table_store_url == "postgresql://postgres@127.0.0.1:5432/example_pipeline"


def test_basic_config_keeps_literal_braces(tmp_path: Path) -> None:
    """create_basic_pipedag_config takes the URL literally (no placeholder expansion)."""
    cfg = create_basic_pipedag_config(f"duckdb:///{tmp_path}/{{odd}}.duckdb", schema_prefix="p_").get()
    assert cfg.table_store_url.endswith("/{odd}.duckdb") and cfg.schema_prefix == "p_"


def test_instances_writing_the_same_schemas_are_refused() -> None:
    """Two instances resolving to the same database, prefix and suffix raise a ConfigError naming both."""
    data = config(instances__midi__instance_id="full_id")  # midi would now use full's prefix "full_id_"
    with pytest.raises(ConfigError, match=r"Instances 'midi' and 'full' .* would write the same schemas"):
        PipedagConfig(data).get("midi")
    assert PipedagConfig(config()).get("midi").schema_prefix == "midi_"
