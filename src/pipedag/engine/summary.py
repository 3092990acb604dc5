"""Plain-text tables: the end-of-run summary and the CLI's listings share one renderer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipedag.core.result import TaskOutcome

SUMMARY_HEADERS = ("task", "stage", "decision", "rows", "seconds")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))  # drops binary noise such as 4016.4300000000003
    return str(value)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as an aligned text table with a header rule (numbers right-aligned).

    Args:
        headers: Column titles.
        rows: One sequence of values per row; ``None`` prints as an empty cell.

    Returns:
        The table without a trailing newline.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def summary_rows(outcomes: Sequence[TaskOutcome]) -> list[tuple[Any, ...]]:
    """One summary row per task: task, stage, decision, rows, seconds."""
    return [
        (o.label.split(".", 1)[1], o.stage, o.state.value, o.rows, round(o.seconds, 3)) for o in outcomes
    ]


def render_summary(outcomes: Sequence[TaskOutcome], seconds: float) -> str:
    """The end-of-run table plus a totals line and the reason of every task that did not succeed."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state.value] = counts.get(o.state.value, 0) + 1
    totals = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no tasks"
    table = render_table(SUMMARY_HEADERS, summary_rows(outcomes))
    text = f"{table}\n{len(outcomes)} tasks in {seconds:.2f} s: {totals}"
    problems = [f"  {o.label}: {o.state.value}: {o.reason}" for o in outcomes if o.state.value in ("failed", "skipped")]
    details = [f"  {o.label}: {o.detail}" for o in outcomes if o.detail and o.state.value == "ran"]
    return "\n".join([text, *details, *problems])
