"""``GroupNode``: a labelled box around related stages or tasks in flow pictures.

Written as in pydiverse.pipedag::

    with Flow("f") as flow:
        with GroupNode("inputs", style=VisualizationStyle(box_color_always="#ccddee")):
            with Stage("raw"):
                ...

A group only affects ``pipedag visualize``. Its ``ordering_barrier`` is implied: pipedag runs
a stage's tasks in wiring order, so tasks wired after a group always run after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from pipedag.core import context
from pipedag.errors import WiringError

if TYPE_CHECKING:
    from pipedag.core.flow import Flow, Stage
    from pipedag.core.task import TaskNode


@dataclass(frozen=True)
class VisualizationStyle:
    """How a group is drawn.

    Attributes:
        hide_box: Draw no box around the group.
        hide_content: Accepted; pipedag still draws the group's tasks.
        hide_label: Draw the box without its label.
        box_color_always: Colour of the box's border.
        box_color_any_failure: Accepted; not used for drawing.
        box_color_none_cache_valid: Accepted; not used for drawing.
        box_color_any_cache_valid: Accepted; not used for drawing.
        box_color_all_cache_valid: Accepted; not used for drawing.
        box_color_all_skipped: Accepted; not used for drawing.
    """

    hide_box: bool = False
    hide_content: bool = False
    hide_label: bool = False
    box_color_always: str | None = None
    box_color_any_failure: str | None = None
    box_color_none_cache_valid: str | None = None
    box_color_any_cache_valid: str | None = None
    box_color_all_cache_valid: str | None = None
    box_color_all_skipped: str | None = None


class GroupNode:
    """Groups the stages (or, inside a stage, the tasks) wired in its ``with`` block.

    Args:
        label: Shown on the group's box.
        style: How the box is drawn.
        ordering_barrier: Accepted; implied by pipedag's execution in wiring order.
        style_tag: Accepted; pipedag.yaml holds no group styles.
    """

    def __init__(
        self,
        label: str | None = None,
        style: VisualizationStyle | None = None,
        *,
        ordering_barrier: bool = False,
        style_tag: str | None = None,
    ) -> None:
        self.label = label
        self.style = style or VisualizationStyle()
        self.ordering_barrier = ordering_barrier
        self.style_tag = style_tag
        self.flow: Flow | None = None
        self.stage: Stage | None = None
        self.stages: list[Stage] = []
        self.tasks: list[TaskNode] = []
        self._start = 0

    def __enter__(self) -> GroupNode:
        flow = context.current_flow()
        if flow is None:
            raise WiringError(f"GroupNode {self.label!r} must be entered inside `with Flow(...)`.")
        if self.flow is not None:
            raise WiringError(f"GroupNode {self.label!r} was already entered; create a new GroupNode.")
        self.flow, self.stage = flow, context.current_stage()
        self._start = len(self.stage.tasks) if self.stage is not None else len(flow.stages)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.flow is not None
        if self.stage is not None:
            self.tasks = self.stage.tasks[self._start:]
        else:
            self.stages = self.flow.stages[self._start:]
        groups: list[GroupNode] = self.flow.__dict__.setdefault("groups", [])
        groups.append(self)

    def __repr__(self) -> str:
        return f"<GroupNode {self.label}>"


def groups_of(flow: Flow) -> list[GroupNode]:
    """The groups wired in ``flow``, innermost first."""
    groups: list[GroupNode] = flow.__dict__.get("groups", [])
    return list(groups)
