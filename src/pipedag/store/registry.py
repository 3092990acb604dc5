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


def canonical_store_name(name: str) -> str | None:
    """``duckdb`` / ``postgresql`` for a store name, URL scheme or class name; None if unknown."""
    if name in STORES:
        return name
    if name in SCHEMES:
        return SCHEMES[name]
    by_class = {class_name: store for store, (_, class_name, _) in STORES.items()}
    return by_class.get(name.rsplit(".", 1)[-1])


def store_name_for(config: ConfigContext) -> str:
    """The store a config asks for: explicit class, else implied by the URL scheme."""
    if config.table_store_class:
        name = canonical_store_name(config.table_store_class)
        if name is None:
            raise ConfigError(
                f"Unknown table_store class {config.table_store_class!r}; known: {', '.join(sorted(STORES))}."
            )
        return name
    scheme = config.table_store_url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in SCHEMES:
        raise ConfigError(
            f"Cannot tell the database from URL {config.table_store_url!r} of instance "
            f"{config.instance_name!r}: scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}."
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
