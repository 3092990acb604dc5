"""Walking the nested lists, tuples and dicts that task arguments and results are made of."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def iter_nested(value: Any, kind: type[T]) -> Iterator[T]:
    """Yield every instance of ``kind`` inside ``value`` (lists, tuples and dict values)."""
    if isinstance(value, kind):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_nested(item, kind)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_nested(item, kind)


def map_nested(value: Any, kind: type[T], fn: Callable[[T], Any]) -> Any:
    """Copy ``value`` with every instance of ``kind`` replaced by ``fn(instance)``.

    Tuples stay tuples and lists stay lists, so ``nout`` results keep their shape.
    """
    if isinstance(value, kind):
        return fn(value)
    if isinstance(value, list | tuple):
        return type(value)(map_nested(item, kind, fn) for item in value)
    if isinstance(value, dict):
        return {k: map_nested(v, kind, fn) for k, v in value.items()}
    return value
