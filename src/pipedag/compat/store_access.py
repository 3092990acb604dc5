"""``cfg.store.table_store``: the part of a store pydiverse.pipedag programs reach from a config.

Such programs call ``get_stage_hash(stage)`` in cache functions (e.g. to notice that the
instance they copy from published a new version of a stage) and run ad-hoc SQL with
``execute``. Each call opens its own short connection to the instance's database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipedag.cache.hashing import stable_hash

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Stage


class TableStoreAccess:
    """The table store of one instance, opened per call.

    Args:
        config: The instance.
    """

    def __init__(self, config: ConfigContext) -> None:
        self.config = config

    @property
    def schema_prefix(self) -> str:
        """Prepended to every stage name to form its schema."""
        return self.config.schema_prefix

    @property
    def schema_suffix(self) -> str:
        """Appended to every stage name to form its schema."""
        return self.config.schema_suffix

    def get_stage_hash(self, stage: Stage | str) -> str:
        """A hash of the stage's published version: it changes exactly when the stage's content does.

        Built from the cache keys of the stage's tasks and the content keys of its tables and
        blobs; an unpublished stage hashes to a fixed value.

        Args:
            stage: The stage (or its name).
        """
        name = stage if isinstance(stage, str) else stage.name
        with self.config.create_store() as store:
            history = store.load_history([name])[name]
        published = sorted(
            [r.task, r.cache_key, sorted(t.key for t in r.tables()), sorted(b.key for b in r.blobs())]
            for r in history.current
        )
        return stable_hash(["stage", name, published])

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one SQL statement in its own transaction and return its rows (if any)."""
        with self.config.create_store() as store, store.transaction():
            return store.execute_sql(sql)


class StoreAccess:
    """``cfg.store``: gives access to the instance's ``table_store``.

    Args:
        config: The instance.
    """

    def __init__(self, config: ConfigContext) -> None:
        self.table_store = TableStoreAccess(config)
