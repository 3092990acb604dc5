"""A layered left-to-right layout of a flow: stages side by side, tasks in columns inside them.

Within a stage a task's column is its depth (longest path from the stage's entry), so edges
inside a stage point right; stages follow in flow order, so edges between stages do too. Tasks
in a column are ordered by the mean height of their inputs to keep edges short, and a column
taller than ``max_rows`` wraps into the next one, so 100+ tasks stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

NODE_W = 168
NODE_H = 26
ROW_GAP = 8
COL_GAP = 36
PAD = 12
HEADER = 24
STAGE_GAP = 28


@dataclass
class Box:
    """A rectangle in page coordinates."""

    x: float
    y: float
    w: float
    h: float


@dataclass
class Layout:
    """Positions of stages and tasks, and the size of the whole drawing."""

    stages: dict[str, Box] = field(default_factory=dict)
    tasks: dict[str, Box] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


def _depths(tasks: Sequence[str], upstream: dict[str, list[str]]) -> dict[str, int]:
    """Column of each task of one stage: 0 without inputs from the stage, else 1 + deepest such input."""
    members = set(tasks)
    depth: dict[str, int] = {}
    for task in tasks:  # wiring order is topological; recorded order may not be, so resolve inputs first
        stack = [task]
        while stack:
            current = stack[-1]
            inner = [u for u in upstream.get(current, []) if u in members and u != current]
            todo = [u for u in inner if u not in depth and u not in stack]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            depth[current] = 1 + max((depth.get(u, 0) for u in inner), default=-1)
    return depth


def layered(
    stages: Sequence[tuple[str, Sequence[str]]], edges: Sequence[tuple[str, str]], max_rows: int = 20
) -> Layout:
    """Lay out ``stages`` (name and task ids in wiring order) with ``edges`` (from, to).

    Args:
        stages: Stages in flow order with their task ids.
        edges: Dependencies between task ids (unknown ids are ignored).
        max_rows: Tasks per column before a column wraps.

    Returns:
        The layout; every task id of ``stages`` has a box.
    """
    upstream: dict[str, list[str]] = {}
    for source, target in edges:
        upstream.setdefault(target, []).append(source)
    layout = Layout()
    x = 0.0
    for name, tasks in stages:
        columns = _columns(tasks, upstream, layout, max_rows)
        width = PAD * 2 + max(1, len(columns)) * NODE_W + max(0, len(columns) - 1) * COL_GAP
        rows = max((len(c) for c in columns), default=0)
        height = HEADER + PAD + max(1, rows) * (NODE_H + ROW_GAP)
        for i, column in enumerate(columns):
            for j, task in enumerate(column):
                cx = x + PAD + i * (NODE_W + COL_GAP)
                layout.tasks[task] = Box(cx, HEADER + j * (NODE_H + ROW_GAP), NODE_W, NODE_H)
        layout.stages[name] = Box(x, 0.0, width, height)
        layout.height = max(layout.height, height)
        x += width + STAGE_GAP
    layout.width = max(0.0, x - STAGE_GAP)
    return layout


def _columns(
    tasks: Sequence[str], upstream: dict[str, list[str]], placed: Layout, max_rows: int
) -> list[list[str]]:
    """Tasks of one stage split into columns (by depth, wrapped at ``max_rows``), each sorted by its inputs' height."""
    depth = _depths(tasks, upstream)
    by_depth: dict[int, list[str]] = {}
    for task in tasks:
        by_depth.setdefault(depth[task], []).append(task)
    position = {task: i for i, task in enumerate(tasks)}
    columns: list[list[str]] = []
    rank: dict[str, float] = {}
    for d in sorted(by_depth):

        def weight(task: str) -> float:
            ys = [placed.tasks[u].y for u in upstream.get(task, []) if u in placed.tasks]
            ys += [rank[u] * (NODE_H + ROW_GAP) for u in upstream.get(task, []) if u in rank]
            return sum(ys) / len(ys) if ys else float("inf")

        ordered = sorted(by_depth[d], key=lambda t: (weight(t), position[t]))
        for start in range(0, len(ordered), max_rows):
            column = ordered[start : start + max_rows]
            rank.update({t: i for i, t in enumerate(column)})
            columns.append(column)
    return columns
