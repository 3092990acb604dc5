"""Which table store class serves which database: declared once, imported lazily."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.store.base import SQLTableStore

#: store name -> (module, class, pip extra that provides its driver)
STORES: dict[str, tuple[str, str, str]] = {
    "duckdb": ("pipedag.store.duckdb", "DuckDBTableStore", "duckdb"),
    "postgresql": ("pipedag.store.postgres", "PostgresTableStore", "postgres"),
}

#: URL scheme -> store name
SCHEMES: dict[str, str] = {
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}


def store_name_for(config: ConfigContext) -> str:
    """The store a config asks for: explicit class, else implied by the URL scheme."""
    if config.table_store_class:
        if config.table_store_class not in STORES:
            raise ConfigError(
                f"Unknown table_store class {config.table_store_class!r}; known: {', '.join(sorted(STORES))}."
            )
        return config.table_store_class
    scheme = config.table_store_url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in SCHEMES:
        raise ConfigError(
            f"Cannot tell the database from URL {config.table_store_url!r}: scheme {scheme!r} is not one "
            f"of {', '.join(sorted(SCHEMES))}."
        )
    return SCHEMES[scheme]


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
