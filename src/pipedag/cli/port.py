"""``pipedag port``: convert a pydiverse.pipedag project to pipedag.

Python files get their ``pydiverse.pipedag`` imports renamed; a pipedag.yaml gets its class
paths and peer-only keys converted (see :mod:`pipedag.config.peer_yaml`). The command shows a
unified diff and writes only with ``--write``. Whatever it cannot translate (an import
pipedag has no counterpart for, a name missing from a module, a key it ignores) is listed as
``file:line: what to do``.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

PEER = "pydiverse.pipedag"
#: Peer modules whose pipedag counterpart has another path.
MODULES = {
    "pydiverse.pipedag.materialize.debug": "pipedag.debug",
    "pydiverse.pipedag.materialize": "pipedag",
    "pydiverse.pipedag.materialize.core": "pipedag",
    "pydiverse.pipedag.core": "pipedag",
    "pydiverse.pipedag.core.flow": "pipedag",
    "pydiverse.pipedag.core.stage": "pipedag",
}
#: Peer modules with no counterpart, and what to do instead.
UNSUPPORTED = {
    "pydiverse.pipedag.backend": "pipedag chooses its table store from the URL; remove the import",
    "pydiverse.pipedag.engine": "pipedag runs flows with flow.run(); remove the import",
    "pydiverse.pipedag.util.structlog": "pipedag sets up its own logging (PIPEDAG_LOG_LEVEL); remove setup_logging()",
    "pydiverse.common.util.structlog": "pipedag sets up its own logging (PIPEDAG_LOG_LEVEL); remove setup_logging()",
}
YAML_NAMES = ("pipedag.yaml", "pipedag.yml")


@dataclass
class Ported:
    """One file's conversion."""

    path: Path
    old: str
    new: str
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the conversion changes the file."""
        return self.old != self.new

    def diff(self) -> str:
        """Unified diff of the conversion."""
        return "".join(
            difflib.unified_diff(
                self.old.splitlines(keepends=True), self.new.splitlines(keepends=True), str(self.path), str(self.path)
            )
        )


def target_module(module: str) -> str | None:
    """pipedag's module for a peer module path, or None when there is none."""
    if module in MODULES:
        return MODULES[module]
    if module == PEER or module.startswith(PEER + "."):
        return "pipedag" + module[len(PEER):]
    return None


def _unsupported(module: str) -> str | None:
    matches = (why for prefix, why in UNSUPPORTED.items() if module == prefix or module.startswith(prefix + "."))
    return next(matches, None)


def _importable(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def port_python(path: Path, text: str) -> Ported:
    """Rename the pydiverse.pipedag imports of one Python file."""
    result = Ported(path, text, text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        result.problems.append(f"{path}:{exc.lineno}: cannot parse the file ({exc.msg}); convert it by hand.")
        return result
    lines = text.splitlines(keepends=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            _port_import(result, lines, node, node.module, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                _port_import(result, lines, node, alias.name, [])
    result.new = "".join(lines)
    for number, line in enumerate(result.new.splitlines(), 1):
        if PEER in line and not line.lstrip().startswith(("import ", "from ")):
            result.problems.append(f"{path}:{number}: still mentions {PEER} (e.g. a class path in a string).")
    return result


def _port_import(
    result: Ported, lines: list[str], node: ast.Import | ast.ImportFrom, module: str, names: list[str]
) -> None:
    where = f"{result.path}:{node.lineno}"
    why = _unsupported(module)
    if why is not None:
        result.problems.append(f"{where}: `{module}` has no pipedag counterpart: {why}.")
        return
    target = target_module(module)
    if target is None:
        return
    loaded = _importable(target)
    if loaded is None:
        result.problems.append(f"{where}: `{module}` has no pipedag counterpart ({target} does not exist).")
        return
    missing = [n for n in names if n != "*" and not hasattr(loaded, n)]
    if missing:
        result.problems.append(f"{where}: {target} has no {', '.join(missing)}; see docs/porting.md.")
    pattern = re.compile(re.escape(module) + r"(?![\w.])")
    for index in range(node.lineno - 1, (node.end_lineno or node.lineno)):
        lines[index] = pattern.sub(target, lines[index], count=1)


def port_yaml(path: Path, text: str) -> Ported:
    """Convert a pydiverse.pipedag pipedag.yaml to pipedag's keys (comments are not kept)."""
    import yaml

    from pipedag.config.peer_yaml import translate
    from pipedag.errors import ConfigError

    result = Ported(path, text, text)
    try:
        raw = yaml.safe_load(text)
        translation = translate(raw if isinstance(raw, dict) else {}, str(path))
    except (yaml.YAMLError, ConfigError) as exc:
        result.problems.append(f"{path}:{_line_of(text, str(exc))}: {exc}")
        return result
    if translation.config == raw:
        return result
    header = "# Converted from a pydiverse.pipedag config by `pipedag port` (comments were not kept).\n"
    result.new = header + yaml.safe_dump(translation.config, sort_keys=False, allow_unicode=True)
    for key, reason in translation.ignored:
        result.problems.append(f"{path}:{_line_of(text, key)}: {key} is dropped: {reason}.")
    return result


def _line_of(text: str, key_path: str) -> int:
    """Best-effort line of the last key of a YAML path (1 when not found)."""
    match = re.findall(r"[A-Za-z_][\w]*", key_path.split(":")[0])
    key = match[-1] if match else ""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*:", line):
            return number
    return 1


def collect(paths: tuple[Path, ...]) -> list[Path]:
    """The Python files and pipedag.yaml files under ``paths``, sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*.py") if ".venv" not in p.parts)
            for name in YAML_NAMES:
                found.update(path.rglob(name))
        else:
            found.add(path)
    return sorted(found)


def port_file(path: Path) -> Ported:
    """Convert one file by its kind (``.py`` or a YAML file)."""
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        return port_yaml(path, text)
    return port_python(path, text)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--write", is_flag=True, help="Write the converted files (default: only show the diff).")
def port(paths: tuple[Path, ...], write: bool) -> None:
    """Convert a pydiverse.pipedag project: rename imports in PATHS' Python files, convert pipedag.yaml."""
    results = [port_file(path) for path in collect(paths)]
    changed = [r for r in results if r.changed]
    for result in changed:
        click.echo(result.diff(), nl=False)
        if write:
            result.path.write_text(result.new)
    problems = [p for r in results for p in r.problems]
    for problem in problems:
        click.secho(problem, fg="yellow", err=True)
    verb = "converted" if write else "would change (run with --write to convert)"
    click.echo(f"{len(changed)} of {len(results)} files {verb}; {len(problems)} items need attention.")
