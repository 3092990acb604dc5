"""The flow currently being wired, and per-run options (context variables, so threads stay apart)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol


class FlowLike(Protocol):
    """What stages, tasks and results need of their flow.

    A protocol, because :class:`pipedag.Flow` builds on them (see :mod:`pipedag.core.flow`).
    """

    @property
    def name(self) -> str:
        """The flow's name."""
        ...

    @property
    def stages(self) -> list[Any]:
        """Its stages in wiring order (:class:`pipedag.Stage` objects, which build on this module)."""
        ...

    def add_stage(self, stage: Any) -> None:
        """Append a stage entered inside the flow's ``with`` block."""
        ...


flow_var: ContextVar[FlowLike | None] = ContextVar("pipedag_flow", default=None)
#: Labels (``stage.task``) of the incremental tasks the running ``flow.run(full_refresh=...)`` rebuilds.
full_refresh_var: ContextVar[frozenset[str]] = ContextVar("pipedag_full_refresh", default=frozenset())


def current_flow() -> FlowLike | None:
    """The flow whose ``with`` block is active, if any."""
    return flow_var.get()
