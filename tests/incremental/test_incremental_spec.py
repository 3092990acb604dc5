"""``Incremental`` settings are validated when they are declared."""

from __future__ import annotations

import dataclasses

import pytest

from pipedag.errors import WiringError
from pipedag.incremental import Incremental


def test_defaults_and_normalised_names() -> None:
    """A single key name becomes a tuple; the defaults match the documentation."""
    spec = Incremental(keys="id", required="scores")
    assert spec.key_columns == ("id",) and spec.required_inputs == ("scores",)
    assert (spec.chunk_size, spec.on_version_change, spec.on_error, spec.max_attempts) == (10_000, "rerun", "fail", 3)
    assert Incremental().key_columns is None


def test_frozen() -> None:
    """Settings cannot change after declaration."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Incremental().chunk_size = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keys": []}, r"keys=\[\]\): name at least one column"),
        ({"keys": ["id", "id"]}, "names a column twice"),
        ({"keys": [1]}, "give a column name or a list"),
        ({"keys": ["_pd_hash"]}, "reserves"),
        ({"chunk_size": 0}, "chunk_size must be an int >= 1"),
        ({"chunk_size": True}, "chunk_size must be an int >= 1"),
        ({"max_attempts": 0}, "max_attempts must be an int >= 1"),
        ({"on_error": "skip"}, "on_error must be 'fail' or 'quarantine'"),
        ({"on_version_change": "ignore"}, "on_version_change must be 'rerun' or 'keep'"),
    ],
)
def test_invalid_settings_name_the_fix(kwargs: dict[str, object], message: str) -> None:
    """Each invalid setting raises a WiringError naming the setting and what is allowed."""
    with pytest.raises(WiringError, match=message):
        Incremental(**kwargs)  # type: ignore[arg-type]
