"""Instance tags: read from ``instances.<name>.tags`` and validated with the YAML path in errors."""

from __future__ import annotations

import pytest

from pipedag import ConfigError, PipedagConfig


def _config(tags: object) -> PipedagConfig:
    return PipedagConfig({"instances": {"full": {"tags": tags, "table_store": {"args": {"url": "duckdb:///x.duckdb"}}}}})


def test_tags_are_a_tuple_of_strings() -> None:
    """A list of strings becomes the ConfigContext's tags; no tags gives an empty tuple."""
    assert _config(["slow", "nightly"]).get("full").tags == ("slow", "nightly")
    assert PipedagConfig({"instances": {"a": {"table_store": {"args": {"url": "duckdb:///x"}}}}}).get().tags == ()


@pytest.mark.parametrize("bad", ["slow", [1], {"a": 1}])
def test_bad_tags_name_the_yaml_key(bad: object) -> None:
    """Anything but a list of strings is rejected naming instances.full.tags."""
    with pytest.raises(ConfigError, match=r"instances\.full\.tags"):
        _config(bad).get("full")
