"""Batch settings of one flow run: ``flow.run(batches={...}, batches_per_run=N)``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipedag.core.flow import register_batch_options
from pipedag.errors import ConfigError

if TYPE_CHECKING:
    from pipedag.batches.spec import BatchSpec
    from pipedag.core.flow import Flow


@dataclass(frozen=True)
class RunOptions:
    """Per-run batch settings.

    Attributes:
        specs: Task name -> the batch spec this run uses instead of the task's own (e.g. a backfill).
        per_run: How many batches each batch task processes in this run.
    """

    specs: Mapping[str, BatchSpec] = field(default_factory=lambda: MappingProxyType({}))
    per_run: int = 1


_options: ContextVar[RunOptions | None] = ContextVar("pipedag_batch_options", default=None)


def current_options() -> RunOptions:
    """The batch settings of the run in progress (the defaults outside ``flow.run``)."""
    return _options.get() or RunOptions()


@contextmanager
def run_options(flow: Flow, batches: Mapping[str, Any] | None, batches_per_run: int | None) -> Iterator[None]:
    """Apply ``flow.run``'s batch arguments for the block, after checking them against the flow.

    Raises:
        ConfigError: for a name that is no batch task of ``flow``, a value that is no batch spec,
            or a ``batches_per_run`` below 1.
    """
    from pipedag.batches.spec import BatchSpec

    per_run = 1 if batches_per_run is None else batches_per_run
    if not isinstance(per_run, int) or isinstance(per_run, bool) or per_run < 1:
        raise ConfigError(f"flow.run(batches_per_run={batches_per_run!r}): give an int >= 1.")
    known = sorted({n.task.name for n in flow.tasks if type(n.task).kind == "batches"})
    for name, spec in (batches or {}).items():
        if name not in known:
            raise ConfigError(
                f"flow.run(batches={{{name!r}: ...}}): flow {flow.name!r} has no batch task {name!r}; "
                f"its batch tasks: {', '.join(known) or 'none'}."
            )
        if not isinstance(spec, BatchSpec):
            raise ConfigError(
                f"flow.run(batches={{{name!r}: ...}}) needs a batch spec (source.incremental(...) or "
                f"source.backfill(...)), got {type(spec).__name__}."
            )
    token = _options.set(RunOptions(MappingProxyType(dict(batches or {})), per_run))
    try:
        yield
    finally:
        _options.reset(token)


# Seam: Flow.run (core) cannot import this package; it applies its batch arguments through this.
register_batch_options(run_options)
