"""The package is layered: modules import only their own layer or lower ones, and never in a circle.

Every import statement counts, including those under ``if TYPE_CHECKING:`` and inside functions:
a circle of type-only imports still means the modules cannot be understood one after the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: Bottom to top. A module belongs to the longest prefix listed; what no prefix names is on top
#: (pipedag/__init__.py, cli, testing, compat, context, batches, incremental, ui, ...).
LAYERS: list[tuple[str, ...]] = [
    ("pipedag.errors", "pipedag.log"),
    ("pipedag.cache.hashing", "pipedag.store.identifiers"),  # pure helpers: hashing, SQL quoting
    ("pipedag.config",),  # pipedag.yaml and ConfigContext: values that wiring and runs take
    ("pipedag.core", "pipedag.container"),  # wiring: Flow, Stage, Task, Table, refs, Result
    ("pipedag.cache",),  # cache keys, code and auto versions
    ("pipedag.store",),  # table stores, hooks, blobs, locks, history
    ("pipedag.engine",),  # deciding, scheduling and running tasks
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "pipedag").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The pipedag modules ``name`` imports anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("pipedag") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> int:
    matches = [
        (len(prefix), index)
        for index, layer in enumerate(LAYERS)
        for prefix in layer
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else len(LAYERS)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_module_imports_in_a_circle() -> None:
    """No set of pipedag modules imports each other in a loop, type-only and local imports included."""
    assert _circles(_graph()) == []


def test_no_module_imports_a_higher_layer() -> None:
    """A module imports only modules of its own layer or of lower layers."""
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


def test_the_checks_see_type_only_and_local_imports() -> None:
    """The import scan counts imports under TYPE_CHECKING and inside functions (so the checks above can fail)."""
    graph = _graph()
    assert "pipedag.store.base" in graph["pipedag.store.registry"]  # only under TYPE_CHECKING
    assert "pipedag.store.blob_store" in graph["pipedag.engine.io"]  # only inside read_output
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
