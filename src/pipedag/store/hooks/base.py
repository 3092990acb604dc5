"""The interface every table-type hook implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pipedag.core.names import RESERVED_MARKER

if TYPE_CHECKING:
    from pipedag.core.table import TableRef
    from pipedag.store.base import SQLTableStore


def module_of(obj_or_type: Any) -> str:
    """Top-level module of an object's type (or of a type), checked before importing a library."""
    cls = obj_or_type if isinstance(obj_or_type, type) else type(obj_or_type)
    return cls.__module__.split(".", 1)[0]


def schema_placeholders(store: SQLTableStore, sql: str) -> str:
    """Replace the instance's quoted data-schema names in ``sql`` by ``{{stage NAME}}``.

    The instance's schema prefix and suffix then do not enter cache keys, while the mapping
    stays one-to-one within an instance, and nothing else in the SQL is touched (no case or
    whitespace folding): two different queries never get the same identity.
    """
    prefix, suffix = re.escape(store.config.schema_prefix), re.escape(store.config.schema_suffix)
    pattern = re.compile(f'"{prefix}([^"]*){suffix}{re.escape(RESERVED_MARKER)}"')
    return pattern.sub(lambda m: "{{stage " + m.group(1) + "}}", sql)


class TableHook(ABC):
    """Moves one kind of Python object into a table store and back out.

    Hooks test the object's module name before importing their library so that pipedag
    never imports pandas or polars for a flow that does not use them.
    """

    #: Shown in error messages listing supported types.
    type_names: ClassVar[str]
    #: Whether :meth:`identity` describes the data itself (frames) rather than a query (SQL).
    identity_is_content: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def can_materialize(cls, obj: Any) -> bool:
        """Whether ``obj`` is something this hook stores."""

    @classmethod
    @abstractmethod
    def can_retrieve(cls, as_type: Any) -> bool:
        """Whether this hook hands tables out as ``as_type``."""

    @classmethod
    @abstractmethod
    def materialize(cls, store: SQLTableStore, obj: Any, schema: str, name: str) -> int | None:
        """Create table ``schema.name`` from ``obj``; return its row count if known cheaply."""

    @classmethod
    @abstractmethod
    def retrieve(cls, store: SQLTableStore, ref: TableRef, as_type: Any) -> Any:
        """Hand out a stored table as ``as_type``."""

    @classmethod
    def to_arrow(cls, obj: Any) -> Any:
        """The object as a ``pyarrow.Table`` when that is how it is stored, else None.

        Frame types convert once, up front, so that fingerprinting and writing share the work.
        """
        return None

    @classmethod
    def identity(cls, store: SQLTableStore, obj: Any) -> str | None:
        """A string identifying ``obj``'s content without storing it, or None if not cheap.

        Used for tasks that run every time: an unchanged result keeps downstream tasks cached.
        For lazy tasks of SQL types it is the exact rendered query.
        """
        return None
