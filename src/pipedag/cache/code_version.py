"""``CODE_VERSION``: a task's version derived from its source code and its helpers' code.

The source is parsed with :mod:`ast` and dumped without positions, so whitespace, comments and
docstrings do not count, while any change to what the code does (a literal, an operator, a
called name) does. Functions and classes the code refers to are followed transitively when
they are defined in the project (not in the standard library, an installed package or pipedag
itself): editing a helper reruns every task that uses it.

Every other global value the code reads is hashed by value, whatever its size: scalars,
containers (dict, list, tuple, set, frozenset, nested, with sets and dicts sorted so the hash
is stable across processes), enum members, dataclasses and instances of project classes (by
their attributes), dates, decimals, bytes, and pandas/polars/pyarrow frames (by their data).
Values of other kinds (a database engine, an open file, an object of a library class) are
recorded by type only: changing them does not rerun the task (see docs/versions.md).
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import json
import sys
import sysconfig
import textwrap
import types
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pipedag.cache.hashing import arrow_fingerprint, digest, stable_hash
from pipedag.errors import CacheError

_CONSTANT_TYPES = (bool, int, float, str, bytes, type(None))

# Parsing is the costly part (~0.2 ms per function); the resolution of names is redone every
# time because a module may have rebound them (e.g. after a reload).
_parsed: dict[types.CodeType, tuple[str, tuple[tuple[str, ...], ...]]] = {}


def code_version(fn: Any) -> str:
    """Hash of ``fn``'s normalized source plus that of the project-local code it refers to.

    Args:
        fn: The task function.

    Returns:
        A hex digest, prefixed ``code:``.

    Raises:
        CacheError: when the function's source cannot be read (e.g. defined in ``exec``).
    """
    parts: list[str] = []
    _visit(fn, parts, set())
    return "code:" + digest("\n".join(parts))


def _visit(obj: Any, parts: list[str], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, type):
        _visit_class(obj, parts, seen)
        return
    fn = _function_of(obj)
    if fn is None:
        return
    own, references = _parse(fn)
    parts.append(f"{fn.__module__}.{fn.__qualname__}={own}")
    for chain in references:
        found, value = _resolve(fn, chain)
        if not found or isinstance(value, types.ModuleType):
            continue  # a module's attributes the code reads are chains of their own
        if isinstance(value, _CONSTANT_TYPES):
            parts.append(f"{'.'.join(chain)}:={value!r}")
        elif _is_project_code(value):
            _visit(value, parts, seen)
        elif not callable(value) or isinstance(value, enum.Enum) or _is_project_instance(value):
            text = json.dumps(_Values(parts, seen).encode(value), sort_keys=True, separators=(",", ":"))
            parts.append(f"{'.'.join(chain)}:={text}")


def _visit_class(cls: type, parts: list[str], seen: set[int]) -> None:
    if not _is_project_code(cls):
        return
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return
    parts.append(f"{cls.__module__}.{cls.__qualname__}={_normalized(source, cls.__qualname__)[0]}")
    for member in vars(cls).values():
        target = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        if isinstance(target, types.FunctionType) and _has_source(target):
            for chain in _parse(target)[1]:
                found, value = _resolve(target, chain)
                if found and _is_project_code(value):
                    _visit(value, parts, seen)


def _has_source(fn: types.FunctionType) -> bool:
    """False for generated methods (a dataclass's ``__init__``): the class source covers them."""
    try:
        _parse(fn)
    except CacheError:
        return False
    return True


def _function_of(obj: Any) -> types.FunctionType | None:
    """The plain function behind ``obj`` (a pipedag Task, a wrapped function, a method)."""
    from pipedag.core.task import Task

    if isinstance(obj, Task):  # a task called as a plain function from another task
        obj = obj.fn
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    obj = inspect.unwrap(obj) if callable(obj) else obj
    return obj if isinstance(obj, types.FunctionType) else None


def _parse(fn: types.FunctionType) -> tuple[str, tuple[tuple[str, ...], ...]]:
    cached = _parsed.get(fn.__code__)
    if cached is None:
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError) as exc:
            raise CacheError(
                f"CODE_VERSION cannot read the source of {fn.__qualname__} ({exc}); define it in a file "
                "or give the task an explicit version='...'."
            ) from None
        cached = _normalized(source, fn.__qualname__)
        _parsed[fn.__code__] = cached
    return cached


def _normalized(source: str, name: str) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """Digest of the source's AST without docstrings or positions, and the names it uses."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        # e.g. a lambda cut out of a longer expression: fall back to the exact text.
        return digest(source.strip()), ()
    _strip_docstrings(tree)
    return digest(ast.dump(tree, annotate_fields=False, include_attributes=False)), tuple(sorted(_references(tree)))


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            continue
        if node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _references(tree: ast.AST) -> set[tuple[str, ...]]:
    """Dotted names read by the code: ``helper`` and ``helpers.clean`` (as a chain)."""
    chains: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            chains.add((node.id,))
        elif isinstance(node, ast.Attribute):
            chain = _chain(node)
            if chain is not None:
                chains.add(chain)
    return chains


def _chain(node: ast.Attribute) -> tuple[str, ...] | None:
    names: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    names.append(current.id)
    return tuple(reversed(names))


def _resolve(fn: types.FunctionType, chain: tuple[str, ...]) -> tuple[bool, Any]:
    """Look a dotted name up in ``fn``'s closure, globals and builtins-free scope."""
    head, *rest = chain
    scope = _closure(fn)
    if head in scope:
        value = scope[head]
    elif head in fn.__globals__:
        value = fn.__globals__[head]
    else:
        return False, None
    for attr in rest:
        if not isinstance(value, types.ModuleType) or not _is_project_module(value.__name__):
            return False, None  # only follow attributes through project modules
        if attr not in vars(value):
            return False, None
        value = vars(value)[attr]
    return True, value


def _closure(fn: types.FunctionType) -> dict[str, Any]:
    cells = fn.__closure__ or ()
    values: dict[str, Any] = {}
    for name, cell in zip(fn.__code__.co_freevars, cells, strict=True):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled
            continue
    return values


class _Values:
    """Turns a global value into a JSON form that changes whenever the value does.

    Functions and classes met inside values (a dict of handlers) are visited like code;
    values of unknown kinds are recorded by type only.
    """

    def __init__(self, parts: list[str], seen: set[int]) -> None:
        self.parts = parts
        self.seen = seen
        self.active: set[int] = set()  # containers on the current path: cycles end there

    def encode(self, value: Any) -> Any:
        if isinstance(value, bool | int | str | type(None)):
            return value
        if isinstance(value, float | bytes):
            return {"__" + type(value).__name__ + "__": repr(value)}
        if isinstance(value, enum.Enum):
            return {"__enum__": f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"}
        if id(value) in self.active:
            return {"__cycle__": type(value).__qualname__}
        self.active.add(id(value))
        try:
            return self._compound(value)
        finally:
            self.active.discard(id(value))

    def _compound(self, value: Any) -> Any:
        if isinstance(value, dict):
            items = [[self.encode(k), self.encode(v)] for k, v in value.items()]
            return {"__dict__": sorted(items, key=lambda kv: json.dumps(kv[0], sort_keys=True))}
        if isinstance(value, list | tuple):
            return {f"__{type(value).__name__}__": [self.encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            return {"__set__": sorted((self.encode(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))}
        if isinstance(value, type) or (callable(value) and not _is_project_instance(value)):
            if _is_project_code(value):
                _visit(value, self.parts, self.seen)
            return {"__code__": f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"}
        frame = _frame_fingerprint(value)
        if frame is not None:
            return {"__frame__": frame}
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if dataclasses.is_dataclass(value) or _is_project_instance(value):
            _visit(type(value), self.parts, self.seen)
            try:
                state = (
                    {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
                    if dataclasses.is_dataclass(value)
                    else dict(vars(value))
                )
            except AttributeError:  # e.g. a field not set yet: the object is recorded by type only
                return {"__type__": name}
            return {"__object__": name, "state": self.encode(state)}
        try:
            return {"__value__": stable_hash(value)}  # dates, decimals, UUIDs
        except CacheError:
            return {"__type__": name}


def _is_project_instance(value: Any) -> bool:
    """An object of a class defined in the project (its attributes are hashed)."""
    return not isinstance(value, type) and hasattr(value, "__dict__") and _is_project_code(type(value))


def _frame_fingerprint(value: Any) -> str | None:
    """Content fingerprint of a pandas/polars/pyarrow frame; the library is already imported if one is passed."""
    module = type(value).__module__.split(".", 1)[0]
    try:
        if module == "pyarrow":
            import pyarrow as pa

            if isinstance(value, pa.Table):
                return arrow_fingerprint(value)
        if module == "polars":
            import polars as pl

            if isinstance(value, pl.DataFrame):
                return arrow_fingerprint(value.to_arrow())
            if isinstance(value, pl.LazyFrame):
                return digest(value.serialize())
        if module == "pandas":
            import pandas as pd
            import pyarrow as pa

            if isinstance(value, pd.DataFrame | pd.Series):
                frame = value.to_frame() if isinstance(value, pd.Series) else value
                return arrow_fingerprint(pa.Table.from_pandas(frame))
    except Exception:  # an unconvertible frame is recorded by type only
        return None
    return None


def _is_project_code(value: Any) -> bool:
    if isinstance(value, type):
        return _is_project_module(value.__module__)
    fn = _function_of(value)
    return fn is not None and _is_project_module(fn.__module__)


@cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(str(Path(r).resolve()) for r in roots)


def _is_project_module(module_name: str) -> bool:
    """Whether a module is the user's own code rather than Python, a library or pipedag."""
    top = module_name.split(".", 1)[0]
    if top == "pipedag" or top in sys.stdlib_module_names or top == "builtins":
        return False
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if file is None:
        return module_name == "__main__"
    return _is_project_file(file)


@cache
def _is_project_file(file: str) -> bool:
    resolved = str(Path(file).resolve())
    if "site-packages" in resolved or "dist-packages" in resolved:
        return False
    return not any(resolved.startswith(root + "/") for root in _library_roots())


def iter_visited(fn: Any) -> Iterator[str]:
    """The qualified names of the code and the names of the constants CODE_VERSION hashes for ``fn``."""
    parts: list[str] = []
    _visit(fn, parts, set())
    for part in parts:
        yield part.split(":=", 1)[0] if ":=" in part else part.split("=", 1)[0]
