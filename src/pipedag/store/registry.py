"""Which table store class serves which database: declared once, imported lazily."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pipedag.config.context import register_store_factory
from pipedag.config.stores import SCHEMES as SCHEMES
from pipedag.config.stores import STORES as STORES
from pipedag.config.stores import canonical_store_name as canonical_store_name
from pipedag.config.stores import store_name_for as store_name_for
from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore


def create_store(config: ConfigContext) -> SQLTableStore:
    """Instantiate the store for ``config`` without connecting."""
    name = store_name_for(config)
    module_name, class_name, extra = STORES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"The {name} table store needs a driver that is not installed ({exc.name}); "
            f"run: pip install 'pipedag[{extra}]'."
        ) from exc
    store: SQLTableStore = getattr(module, class_name)(config)
    return store


# Seam: ConfigContext.create_store() hands out what this layer builds; config cannot import the store.
register_store_factory(create_store)
