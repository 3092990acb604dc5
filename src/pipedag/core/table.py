"""What a task returns (`Table`) and what pipedag remembers about a stored table (`TableRef`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNIQUE_SUFFIX = "%%"


@dataclass
class Table:
    """Wraps a task result that should become a database table.

    Args:
        obj: The data: a pandas/polars frame, a pyarrow table, or a SQLAlchemy select/text.
        name: Table name inside the stage. ``None`` derives it from the task name; a name ending
            in ``%%`` gets a stable unique suffix so one task can emit many similar tables.
        primary_key: Column name(s) forming the primary key.
        indexes: Extra indexes, each a list of column names.
    """

    obj: Any = None
    name: str | None = None
    primary_key: str | list[str] | None = None
    indexes: list[list[str]] | None = None

    def materialize(self, config_context: Any = None, schema: Any = None, return_as_type: Any = None) -> Any:
        """Store this table now, inside the running task, and return it for further use.

        The result is the stored table as the task's input type (an alias for SQL tasks, a
        frame for pandas tasks) or as ``return_as_type``; returning it from the task returns
        the stored table. Caching is the same as for returned tables (see
        :mod:`pipedag.engine.imperative`).

        Args:
            config_context: Not supported outside a running task; must be None.
            schema: Not supported outside a running task; must be None.
            return_as_type: How to hand the stored table back (default: the task's input type).

        Raises:
            StateError: outside a running task, or with ``config_context``/``schema`` given.
        """
        from pipedag.context import TaskContext
        from pipedag.engine.imperative import ImperativeTables
        from pipedag.errors import StateError

        context = TaskContext.current()
        if config_context is not None or schema is not None or context is None:
            raise StateError(
                "Table.materialize() works inside a running task only, without config_context/schema: "
                "pipedag writes tables only into the stages it publishes. To try a task's code outside a "
                "flow, run the flow (or a part of it: flow.run(stage)) and read results with result.get()."
            )
        assert isinstance(context.state, ImperativeTables)
        return context.state.materialize(self, return_as_type)

    @property
    def primary_key_columns(self) -> list[str]:
        """The primary key as a list (empty when there is none)."""
        if self.primary_key is None:
            return []
        if isinstance(self.primary_key, str):
            return [self.primary_key]
        return list(self.primary_key)


@dataclass(frozen=True)
class Column:
    """A column of a stored table, as the database reported it when pipedag wrote it."""

    name: str
    type: str


@dataclass(frozen=True)
class TableRef:
    """A table pipedag wrote: where it lives physically and what it contains.

    ``key`` identifies the table's content: two refs with equal keys hold the same data.
    Downstream cache keys are built from it.
    """

    stage: str
    name: str
    schema: str
    physical_name: str
    key: str
    columns: tuple[Column, ...] = ()
    rows: int | None = None
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    #: An ExternalTableReference: a table pipedag reads but does not own (never dropped).
    external: bool = False

    @property
    def label(self) -> str:
        """The user-facing name ``stage.table`` used in logs and explanations."""
        return f"{self.stage}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        """Serialize for the metadata schema."""
        return {
            "stage": self.stage,
            "name": self.name,
            "schema": self.schema,
            "physical_name": self.physical_name,
            "key": self.key,
            "columns": [[c.name, c.type] for c in self.columns],
            "rows": self.rows,
            "primary_key": list(self.primary_key),
            "indexes": [list(i) for i in self.indexes],
            "external": self.external,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableRef:
        """Inverse of :meth:`to_json`."""
        return cls(
            stage=data["stage"],
            name=data["name"],
            schema=data["schema"],
            physical_name=data["physical_name"],
            key=data["key"],
            columns=tuple(Column(n, t) for n, t in data["columns"]),
            rows=data["rows"],
            primary_key=tuple(data["primary_key"]),
            indexes=tuple(tuple(i) for i in data["indexes"]),
            external=bool(data.get("external", False)),
        )
