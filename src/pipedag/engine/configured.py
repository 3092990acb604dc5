"""Which engine a run uses when the caller names none, and the runner behind ``Flow.run``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipedag.core.flow import register_runner

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.core.result import Result
    from pipedag.engine.base import Engine


def configured_engine(config: ConfigContext, engine: str | None = None, workers: int | None = None) -> Engine:
    """The engine pipedag.yaml's ``orchestration`` names, with command-line overrides.

    Args:
        config: The instance; its ``orchestration`` block is the default.
        engine: ``sequential``, ``parallel`` or ``dask`` instead of the configured one.
        workers: Worker count instead of the configured one.

    Raises:
        ConfigError: for an unknown engine name.
    """
    from pipedag.config.context import ENGINES
    from pipedag.errors import ConfigError

    orchestration = config.orchestration
    name = engine or orchestration.engine
    count = workers or orchestration.workers
    if name == "sequential":
        from pipedag.engine.sequential import SequentialEngine

        return SequentialEngine()
    if name == "parallel":
        from pipedag.engine.parallel import ParallelEngine

        return ParallelEngine(count or 4)
    if name == "dask":
        from pipedag.engine.dask import DaskEngine

        return DaskEngine(address=orchestration.address, n_workers=count)
    raise ConfigError(f"Unknown engine {name!r}; use one of {', '.join(ENGINES)}.")


def run_configured(
    flow: Flow, config: ConfigContext, engine: Engine | None, *, fail_fast: bool, stages: Sequence[str] | None
) -> Result:
    """The last step of ``Flow.run``: run on ``engine``, or on the one pipedag.yaml names."""
    from pipedag.engine.run import run_flow  # imported on use: the CLI starts without the engine's libraries

    return run_flow(flow, config, engine or configured_engine(config), fail_fast=fail_fast, stages=stages)


# Seam: Flow (core) cannot import the engine, so the engine hands Flow.run its runner here.
register_runner(run_configured)
