"""The layered layout of the flow graph: stages side by side, edges pointing right, no overlaps."""

from __future__ import annotations

import itertools

from pipedag.ui.layout import NODE_H, layered


def _flow(stages: int, per_stage: int) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """Stages of tasks; each task reads the same-numbered task of the previous stage and its left neighbour."""
    shape = [(f"s{s}", [f"s{s}.t{i}" for i in range(per_stage)]) for s in range(stages)]
    edges = [(f"s{s - 1}.t{i}", f"s{s}.t{i}") for s in range(1, stages) for i in range(per_stage)]
    edges += [(f"s{s}.t{i - 1}", f"s{s}.t{i}") for s in range(stages) for i in range(1, per_stage) if i % 3]
    return shape, edges


def test_every_edge_points_right_and_tasks_stay_inside_their_stage() -> None:
    """Each task's box lies inside its stage's box, and every edge goes from left to right."""
    shape, edges = _flow(10, 12)
    layout = layered(shape, edges)
    for stage, tasks in shape:
        group = layout.stages[stage]
        for task in tasks:
            box = layout.tasks[task]
            assert group.x <= box.x and box.x + box.w <= group.x + group.w
            assert group.y <= box.y and box.y + box.h <= group.y + group.h
    for source, target in edges:
        assert layout.tasks[source].x + layout.tasks[source].w < layout.tasks[target].x


def test_no_two_tasks_overlap_and_tall_columns_wrap() -> None:
    """Boxes never overlap, and a stage of 130 independent tasks wraps into columns of at most 20."""
    layout = layered([("wide", [f"wide.t{i}" for i in range(130)])], [], max_rows=20)
    boxes = list(layout.tasks.values())
    for a, b in itertools.combinations(boxes, 2):
        assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
    assert len({b.x for b in boxes}) == 7
    assert layout.height < 21 * (NODE_H + 10) + 50


def test_tasks_in_recorded_order_get_their_inputs_columns_first() -> None:
    """A task listed before its input (a parallel run's record order) still lands right of that input."""
    layout = layered([("s", ["s.late", "s.early"])], [("s.early", "s.late")])
    assert layout.tasks["s.early"].x < layout.tasks["s.late"].x
