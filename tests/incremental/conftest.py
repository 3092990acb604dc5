"""Fixtures of the incremental tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipedag import ConfigContext
from tests.incremental.harness import Harness


@pytest.fixture
def harness(store_config: ConfigContext) -> Iterator[Harness]:
    """A harness on the backend under test."""
    with store_config.create_store() as store:
        yield Harness(store)
