"""Which table stores exist and which one a config asks for: names only, no store code.

These names sit below the store layer so that pipedag.yaml validation can check a store
class without importing any store; :mod:`pipedag.store.registry` turns a name into a store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext

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
