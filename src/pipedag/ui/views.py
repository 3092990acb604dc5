"""The JSON documents the page asks for, built from what the metadata schema recorded.

Each function takes an open read-only store and returns plain JSON-ready data; the server
opens and releases the store around it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipedag.cache.keys import explain_change
from pipedag.ui import source
from pipedag.ui.layout import layered

if TYPE_CHECKING:
    from pipedag.config.context import ConfigContext
    from pipedag.core.flow import Flow
    from pipedag.store.base import SQLTableStore

PENDING = "pending"
NOT_RUN = "not run"
_PATH = re.compile(r"\[.*$")


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def _run_json(run: source.RunRow) -> dict[str, Any]:
    seconds = None if run.ended_at is None else (run.ended_at - run.started_at).total_seconds()
    return {
        "run_id": run.run_id,
        "flow": run.flow,
        "status": run.status,
        "started_at": _time(run.started_at),
        "ended_at": _time(run.ended_at),
        "seconds": seconds,
        "counts": run.counts,
    }


def overview(
    store: SQLTableStore, cat: source.Catalog, config: ConfigContext, run_id: int | None, flow: Flow | None
) -> dict[str, Any]:
    """What the page needs to draw at first: the instance, the run history, a run's graph, the poll token."""
    history = source.runs(store) if cat.has("runs") else []
    return {
        "instance": config.instance_name,
        "pipeline": config.pipeline_name,
        "flow": None if flow is None else flow.name,
        "runs": [_run_json(r) for r in history],
        "graph": graph(store, cat, run_id, flow, history),
        "poll": poll(store, cat, history[:1]),
    }


def runs(store: SQLTableStore, cat: source.Catalog) -> list[dict[str, Any]]:
    """The run history, newest first."""
    if not cat.has("runs"):
        return []
    return [_run_json(r) for r in source.runs(store)]


def poll(store: SQLTableStore, cat: source.Catalog, history: list[source.RunRow] | None = None) -> dict[str, Any]:
    """A small fingerprint of the history that changes whenever a run starts, ends or is abandoned."""
    latest = history if history is not None else source.runs(store, limit=1) if cat.has("runs") else []
    if not latest:
        return {"busy": False, "token": "empty"}
    run = latest[0]
    token = f"{run.run_id}:{run.status}:{sum(run.counts.values())}"
    return {"busy": False, "token": token, "latest": _run_json(run)}


def _skeleton(
    store: SQLTableStore, cat: source.Catalog, run_id: int, flow: Flow | None
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]], dict[str, source.TaskRunRow]]:
    """Stages with task ids, edges, and the run's task rows by id."""
    rows = source.task_runs(store, cat, run_id)
    by_label = {r.label: r for r in rows}
    if flow is not None:
        return (*_wiring(flow), by_label)
    shape = rows
    if not shape:  # a running or abandoned run recorded no tasks yet: draw the last known shape
        earlier = source.latest_run_with_tasks(store, run_id)
        shape = source.task_runs(store, cat, earlier) if earlier is not None else []
    grouped: dict[str, list[str]] = {}  # stages in order of first appearance (parallel runs interleave them)
    for row in shape:
        grouped.setdefault(row.stage, []).append(row.label)
    known = {row.label for row in shape}
    return list(grouped.items()), _recorded_edges(store, run_id, known), by_label


def _wiring(flow: Flow) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """Stages with task ids, and edges, as the flow file wires them."""
    stages = [(s.name, [n.label for n in s.tasks]) for s in flow.stages]
    return stages, [(u.label, n.label) for n in flow.tasks for u in n.upstream]


def _recorded_edges(store: SQLTableStore, run_id: int, known: set[str]) -> list[tuple[str, str]]:
    """Edges from the recorded cache-key ingredients: each input names a table or a task output."""
    versions = source.records_up_to(store, run_id)
    owner = {
        ref.label: label for label, vs in versions.items() for ref in vs[0].record.tables()
    }
    edges: list[tuple[str, str]] = []
    for label, vs in versions.items():
        if label not in known:
            continue
        for name in vs[0].record.ingredients.inputs:
            producer = owner.get(name) or _PATH.sub("", name)
            if producer in known and producer != label and (producer, label) not in edges:
                edges.append((producer, label))
    return edges


def graph(
    store: SQLTableStore,
    cat: source.Catalog,
    run_id: int | None,
    flow: Flow | None,
    history: list[source.RunRow] | None = None,
) -> dict[str, Any]:
    """The flow graph of a run (the latest when ``run_id`` is None): laid-out stages and coloured tasks."""
    if history is None:
        history = source.runs(store) if cat.has("runs") else []
    run = next((r for r in history if run_id is None or r.run_id == run_id), None)
    if run is None and run_id is not None:
        raise KeyError(f"No run {run_id} in this instance's history.")
    if run is None:
        stages, edges = _wiring(flow) if flow is not None else ([], [])
        rows: dict[str, source.TaskRunRow] = {}
    else:
        stages, edges, rows = _skeleton(store, cat, run.run_id, flow)
    layout = layered(stages, edges)
    missing = PENDING if run is not None and run.status == "running" else NOT_RUN
    nodes = []
    for stage, labels in stages:
        for label in labels:
            box, row = layout.tasks[label], rows.get(label)
            nodes.append(
                {
                    "id": label,
                    "stage": stage,
                    "name": label.split(".", 1)[1],
                    "state": row.decision if row is not None else missing,
                    "x": box.x, "y": box.y, "w": box.w, "h": box.h,
                }
            )
    return {
        "run": None if run is None else _run_json(run),
        "stages": [{"name": n, **vars(layout.stages[n])} for n, _ in stages],
        "nodes": nodes,
        "edges": edges,
        "width": layout.width,
        "height": layout.height,
    }


def _tables_json(record: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "rows": t.rows,
            "columns": [[c.name, c.type] for c in t.columns],
            "physical": t.physical_name,
            "primary_key": list(t.primary_key),
            "external": t.external,
        }
        for t in record.tables()
    ]


def task(store: SQLTableStore, cat: source.Catalog, run_id: int, label: str) -> dict[str, Any]:
    """One task in one run: decision, reason, duration, cache key ingredients, outputs and what changed.

    Raises:
        KeyError: when the run has no such task and the store has no record of it.
    """
    row = next((r for r in source.task_runs(store, cat, run_id) if r.label == label), None)
    versions = source.records_up_to(store, run_id).get(label, [])
    if row is None and not versions:
        raise KeyError(f"Run {run_id} has no task {label!r}.")
    before = source.previous_decisions(store, run_id).get(label)
    detail: dict[str, Any] = {
        "id": label,
        "run_id": run_id,
        "decision": row.decision if row else None,
        "reason": row.reason if row else None,
        "rows": row.rows if row else None,
        "seconds": row.seconds if row else None,
        "started_at": _time(row.started_at) if row else None,
        "previous_run": None if before is None else {"run_id": before[0], "decision": before[1], "reason": before[2]},
    }
    if versions:
        current = versions[0]
        detail["record"] = {
            "version": current.run_id,
            "cache_key": current.record.cache_key,
            "ingredients": current.record.ingredients.to_json(),
            "tables": _tables_json(current.record),
        }
        detail["changes"] = _changes(versions)
    return detail


def _changes(versions: Sequence[source.Version]) -> str:
    """What differs between a task's record and the one before it."""
    if len(versions) < 2:
        return "no earlier version of this task is kept"
    new, old = versions[0], versions[1]
    if new.record.cache_key == old.record.cache_key:
        return f"nothing: same cache key as version {old.run_id}"
    text = explain_change(old.record.ingredients, new.record.ingredients)
    old_rows = {t.name: t.rows for t in old.record.tables()}
    sizes = [
        f"{t.name} rows {old_rows[t.name]} -> {t.rows}"
        for t in new.record.tables()
        if t.name in old_rows and old_rows[t.name] != t.rows
    ]
    return f"since version {old.run_id}: " + ", ".join([text, *sizes])


def timeline(store: SQLTableStore, cat: source.Catalog, run_id: int) -> dict[str, Any]:
    """The tasks of a run as bars: offset from the run's start and duration, in seconds.

    Runs recorded before start times were kept get offsets summed in execution order
    (``estimated``).
    """
    run = next((r for r in source.runs(store) if r.run_id == run_id), None)
    if run is None:
        raise KeyError(f"No run {run_id} in this instance's history.")
    bars, cursor, estimated = [], 0.0, False
    for row in source.task_runs(store, cat, run_id):
        if row.started_at is not None:
            offset = (row.started_at - run.started_at).total_seconds()
        else:
            offset, estimated = cursor, True
        cursor = max(cursor, offset + row.seconds)
        bars.append(
            {"id": row.label, "stage": row.stage, "state": row.decision, "start": offset, "seconds": row.seconds}
        )
    return {"run": _run_json(run), "bars": bars, "estimated": estimated}


def tables(store: SQLTableStore, cat: source.Catalog) -> list[dict[str, Any]]:
    """Every stage's published tables with columns, types and row counts."""
    if not cat.has("stage_versions"):
        return []
    return [
        {
            "stage": stage,
            "version": version,
            "schema": store.stage_schema(stage),
            "tables": [{"task": r.task, **t} for r in records for t in _tables_json(r)],
        }
        for stage, (version, records) in sorted(source.published(store).items())
    ]


def batches(store: SQLTableStore, cat: source.Catalog) -> list[dict[str, Any]]:
    """Every batch job with its position and ranges (ids, item count, status, attempt, worker, error)."""
    if not cat.has("batch_jobs") or not cat.has("batch_ranges"):
        return []
    from pipedag.batches import claims

    ranges: dict[str, list[dict[str, Any]]] = {}
    for r in claims.status(store):
        ranges.setdefault(r.job, []).append(
            {
                "range_id": r.range_id, "id_min": r.id_min, "id_max": r.id_max, "count": r.count,
                "status": r.status, "attempt": r.attempt, "worker": r.worker, "error": r.error,
                "finished_at": _time(r.finished_at), "run_id": r.run_id,
            }
        )
    return [
        {"job": j.job, "kind": j.kind, "source": j.source, "position": j.position, "ranges": ranges.get(j.job, [])}
        for j in claims.jobs(store)
    ]


def preview(store: SQLTableStore, stage: str, table: str, offset: int, limit: int) -> dict[str, Any]:
    """A page of a published table's rows; values that JSON lacks become text."""
    columns, rows, total = source.preview(store, stage, table, offset, limit)
    return {
        "stage": stage,
        "table": table,
        "offset": offset,
        "limit": limit,
        "total": total,
        "columns": columns,
        "rows": [[_cell(v) for v in row] for row in rows],
    }


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return str(value)
