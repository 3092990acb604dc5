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
        nullable: Columns that may hold NULL; every other column is declared NOT NULL.
        non_nullable: Columns declared NOT NULL (the others stay nullable unless ``nullable`` says otherwise).
        type_map: Accepted for pydiverse.pipedag programs only when empty: pipedag takes column
            types from the data (cast in the query or the frame instead).
        materialization_details: Accepted for pydiverse.pipedag programs and ignored: pipedag
            writes plain tables on every backend.
        annotation: A free-form note (e.g. a type annotation); not stored.
    """

    obj: Any = None
    name: str | None = None
    primary_key: str | list[str] | None = None
    indexes: list[list[str]] | None = None
    nullable: list[str] | None = None
    non_nullable: list[str] | None = None
    type_map: dict[str, Any] | None = None
    materialization_details: str | None = None
    annotation: Any = None

    def __post_init__(self) -> None:
        if self.type_map:
            from pipedag.errors import WiringError

            raise WiringError(
                f"Table({self.name!r}, type_map=...) is not supported: pipedag takes column types from the data. "
                "Cast the columns in the query (sa.cast) or the frame (df.astype) instead."
            )

    def not_null_columns(self, columns: list[str]) -> list[str]:
        """The columns to declare NOT NULL, given the table's actual columns.

        Raises:
            ColumnError: when ``nullable``/``non_nullable`` name a column the table lacks.
        """
        if self.nullable is None and self.non_nullable is None:
            return []
        named = [*(self.nullable or []), *(self.non_nullable or [])]
        unknown = sorted(set(named) - set(columns))
        if unknown:
            from pipedag.errors import ColumnError

            raise ColumnError(
                f"Table {self.name!r}: nullable/non_nullable name columns {unknown} it does not have; "
                f"its columns are {columns}."
            )
        chosen = set(self.non_nullable or [])
        if self.nullable is not None:
            chosen |= set(columns) - set(self.nullable)
        return [c for c in columns if c in chosen]

    def options(self) -> list[Any]:
        """What of the table's declaration joins a lazy task's cache key (beyond its query)."""
        base: list[Any] = [self.name, self.primary_key_columns, self.indexes or []]
        if self.nullable is not None or self.non_nullable is not None:
            base.append({"nullable": self.nullable, "non_nullable": self.non_nullable})
        return base

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
    #: Columns declared NOT NULL (``Table(nullable=..., non_nullable=...)``).
    not_null: tuple[str, ...] = ()

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
            **({"not_null": list(self.not_null)} if self.not_null else {}),
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
            not_null=tuple(data.get("not_null", ())),
        )
