"""The flow and stage currently being wired, and per-run options (context variables, so threads stay apart)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipedag.core.flow import Flow, Stage

flow_var: ContextVar[Flow | None] = ContextVar("pipedag_flow", default=None)
stage_var: ContextVar[Stage | None] = ContextVar("pipedag_stage", default=None)
#: Labels (``stage.task``) of the incremental tasks the running ``flow.run(full_refresh=...)`` rebuilds.
full_refresh_var: ContextVar[frozenset[str]] = ContextVar("pipedag_full_refresh", default=frozenset())


def current_flow() -> Flow | None:
    """The flow whose ``with`` block is active, if any."""
    return flow_var.get()


def current_stage() -> Stage | None:
    """The stage whose ``with`` block is active, if any."""
    return stage_var.get()
