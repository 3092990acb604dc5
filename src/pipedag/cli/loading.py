"""Finding what a command works on: the flow named ``module:object`` / ``file.py:object``, the instance."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from types import ModuleType

    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow

FLOW_FORMAT = "FLOW must look like package.module:object or path/to/file.py:object"

instance_option = click.option(
    "--instance", "-i", help="Instance of pipedag.yaml to use (default: its first instance)."
)


def load_flow(spec: str) -> Flow:
    """Import the object ``spec`` names and return the Flow it is or builds.

    Args:
        spec: ``module:object`` or ``path/to/file.py:object``; the object is a Flow or a
            function without arguments returning one.

    Raises:
        ConfigError: naming what is wrong with the spec and how to fix it.
    """
    from pipedag.core.flow import Flow

    source, sep, name = spec.rpartition(":")
    if not sep or not source or not name:
        raise ConfigError(f"{FLOW_FORMAT}, got {spec!r}.")
    module = _import(source)
    if not hasattr(module, name):
        candidates = sorted(k for k, v in vars(module).items() if isinstance(v, Flow) or k.startswith("build"))
        hint = f" Candidates: {', '.join(candidates)}." if candidates else ""
        raise ConfigError(f"{source} has no object {name!r}.{hint}")
    obj: Any = getattr(module, name)
    if callable(obj) and not isinstance(obj, Flow):
        obj = obj()
    if not isinstance(obj, Flow):
        raise ConfigError(
            f"{spec} is a {type(obj).__name__}, not a Flow; name a Flow or a function returning one."
        )
    return obj


def _import(source: str) -> ModuleType:
    if source.endswith(".py") or "/" in source:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"Flow file {source} does not exist ({FLOW_FORMAT}).")
        name = f"pipedag_cli_flow_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"Cannot import {source} as Python; {FLOW_FORMAT}.")
        module = importlib.util.module_from_spec(spec)
        # The flow file's folder goes on sys.path so that it can import its neighbours.
        sys.path.insert(0, str(path.resolve().parent))
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name and source.startswith(exc.name):
            raise ConfigError(
                f"No module named {source!r} (searched the current folder and sys.path); {FLOW_FORMAT}."
            ) from exc
        raise


flow_option = click.option(
    "--flow",
    "flow_name",
    metavar="NAME",
    help="Use flow NAME's zero-configuration store .pipedag/NAME.duckdb (what a run without pipedag.yaml writes).",
)


def load_explored_instance(ctx: click.Context, instance: str | None, flow_name: str | None) -> ConfigContext:
    """The instance ``status``/``sql``/``shell`` look at.

    ``--flow NAME`` names a zero-configuration store; otherwise pipedag.yaml's instance; without
    any pipedag.yaml the one store under ``.pipedag/`` (``--flow`` picks one of several).

    Raises:
        click.UsageError: when both ``--flow`` and ``--instance`` are given.
        ConfigError: when the store or the pipedag.yaml needed is missing, or several stores qualify.
    """
    if flow_name is not None:
        if instance is not None:
            raise click.UsageError(
                "--flow names a zero-configuration store and --instance an instance of pipedag.yaml; give one."
            )
        return zero_config_store(flow_name)
    if instance is None and _config_path(ctx) is None:
        return zero_config_store(None)
    return load_instance(ctx, instance)


def zero_config_store(flow_name: str | None) -> ConfigContext:
    """The zero-configuration instance of ``flow_name``, or of the only flow with a store in ``.pipedag/``.

    It never creates a store: the DuckDB file must exist.

    Raises:
        ConfigError: when the file is missing, or ``flow_name`` is None and there are none or several.
    """
    from pipedag.config.context import default_config

    folder = Path.cwd() / ".pipedag"
    found = sorted(p.stem for p in folder.glob("*.duckdb"))
    known = f"Stores found: {', '.join(found)}." if found else f"There is none in {folder}."
    if flow_name is not None and flow_name not in found:
        raise ConfigError(
            f"Flow {flow_name!r} has no zero-configuration store: {folder / (flow_name + '.duckdb')} does not exist. "
            f"Run the flow without pipedag.yaml first. {known}"
        )
    if flow_name is None and len(found) != 1:
        if not found:
            raise ConfigError(
                f"No pipedag.yaml was found in {Path.cwd()} or its parents, and no flow has run here without one "
                f"(no .pipedag/<flow>.duckdb). Run a flow first, or pass --config PATH / set $PIPEDAG_CONFIG."
            )
        raise ConfigError(
            f"No pipedag.yaml was found and several flows have stores under {folder}; pick one with "
            f"{' or '.join('--flow ' + _shell_word(f) for f in found)}."
        )
    return default_config(flow_name or found[0])


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _config_path(ctx: click.Context) -> Path | None:
    from pipedag.config.pipedag_config import find_config_file

    root = ctx.find_root().obj or {}
    path: Path | None = root.get("config_path")
    return path or find_config_file()


def load_instance(ctx: click.Context, instance: str | None, flow_name: str | None = None) -> ConfigContext:
    """The ConfigContext of ``instance`` from pipedag.yaml (``--config``, ``$PIPEDAG_CONFIG`` or searched).

    Without any pipedag.yaml and without ``--instance``, a flow's zero-configuration DuckDB
    file ``.pipedag/<flow>.duckdb`` is used.

    Raises:
        ConfigError: when no pipedag.yaml is found but one is needed, or the instance is unknown.
    """
    from pipedag.config.context import default_config
    from pipedag.config.pipedag_config import PipedagConfig, find_config_file

    path: Path | None = ctx.find_root().obj.get("config_path") if ctx.find_root().obj else None
    path = path or find_config_file()
    if path is None:
        if instance is None and flow_name is not None:
            return default_config(flow_name)
        what = f"--instance {instance}" if instance else "this command"
        raise ConfigError(
            f"{what} needs a pipedag.yaml, but none was found in {Path.cwd()} or its parents; "
            "create one, pass --config PATH, or set $PIPEDAG_CONFIG."
        )
    return PipedagConfig(path).get(instance)


def load_flow_for_instance(ctx: click.Context, spec: str, instance: str | None) -> tuple[Flow, ConfigContext]:
    """Load the instance's config, then the flow with that config active.

    Activating the config first lets a flow builder read the instance's ``attrs`` (e.g. a
    sample size) through :func:`pipedag.config.context.active_config`. Without pipedag.yaml
    the flow is loaded first, since the zero-configuration store is named after it.
    """
    from pipedag.config.pipedag_config import find_config_file

    root = ctx.find_root().obj or {}
    if root.get("config_path") is None and find_config_file() is None:
        flow = load_flow(spec)
        return flow, load_instance(ctx, instance, flow.name)
    config = load_instance(ctx, instance)
    with config:
        return load_flow(spec), config
