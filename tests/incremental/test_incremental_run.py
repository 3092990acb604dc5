"""The incremental core on real DuckDB files and the real PostgreSQL server."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipedag.errors import TaskError
from pipedag.incremental import Incremental
from pipedag.incremental.run import Mode
from pipedag.store.identifiers import qualified
from tests.incremental.harness import Harness, doubled, events


def test_first_run_then_noop(harness: Harness) -> None:
    """The first run computes every key; a rerun on unchanged inputs calls nothing and publishes nothing."""
    src = harness.source(events(range(10)))
    job, out = harness.run([src])
    assert job.plan().mode is Mode.FULL and job.plan().counts == {"new": 10}
    assert harness.rows(out) == [(i, 2 * i) for i in range(10)]
    assert harness.seen_keys() == list(range(10)) and job.summary.calls == 3  # chunks of 4
    again, same = harness.run([src])
    assert again.plan().mode is Mode.NOOP and again.statements == [] and harness.calls == []
    assert same == out


def test_update_recomputes_changed_keys_only(harness: Harness) -> None:
    """After two values change only those two keys reach the function, and the output follows."""
    harness.run([harness.source(events(range(10)))])
    harness.seen_keys()
    values = list(range(10))
    values[3], values[7] = 30, 70
    job, out = harness.run([harness.source(events(range(10), values))])
    assert job.plan().mode is Mode.DELTA and job.plan().counts == {"changed": 2}
    assert harness.seen_keys() == [3, 7]
    assert harness.rows(out) == [(i, 2 * v) for i, v in enumerate(values)]


def test_equal_rewrite_reorder_and_widening_are_not_changes(harness: Harness) -> None:
    """Rewriting equal rows, reordering columns or widening int32 to int64 leaves every key unchanged."""
    harness.run([harness.source(events(range(-3, 5), int_type=pa.int32()))])
    harness.seen_keys()
    rewritten = events(range(-3, 5), int_type=pa.int64())
    reordered = rewritten.select(["value", "id"])
    job, out = harness.run([harness.source(reordered)])
    assert job.plan().mode is Mode.DELTA and job.plan().counts == {} and harness.seen_keys() == []
    assert job.output.key == out.key and harness.rows(out) == [(i, 2 * i) for i in range(-3, 5)]


def test_inserts_and_deletes(harness: Harness) -> None:
    """New keys are computed and keys gone from the input are removed from the output."""
    harness.run([harness.source(events(range(6)))])
    harness.seen_keys()
    job, out = harness.run([harness.source(events([0, 1, 2, 10, 11]))])
    assert job.plan().counts == {"new": 2, "deleted": 3}
    assert harness.seen_keys() == [10, 11]
    assert harness.rows(out) == [(0, 0), (1, 2), (2, 4), (10, 20), (11, 22)]
    assert out.rows == 5 and job.summary.deleted == 3


def test_key_that_produces_nothing_is_removed(harness: Harness) -> None:
    """A task that filters rows out: an update making a key produce no row removes the key's old row."""

    def positive(inputs: dict[str, pa.Table]) -> pa.Table:
        kept = inputs["events"].filter(pc.greater(inputs["events"]["value"], 0))
        return doubled({"events": kept})

    harness.run([harness.source(events(range(5)))], positive)
    _, out = harness.run([harness.source(events(range(5), [0, 1, -2, 3, 4]))], positive)
    assert harness.rows(out) == [(1, 2), (3, 6), (4, 8)]


def test_version_change_reruns_every_key_or_keeps(harness: Harness) -> None:
    """A new version makes every key due once; on_version_change='keep' applies it to new changes only."""
    src = harness.source(events(range(6)))
    harness.run([src])
    harness.seen_keys()
    job, out = harness.run([src], version="2")
    assert job.plan().mode is Mode.FULL and job.plan().counts == {"version": 6}
    assert harness.seen_keys() == list(range(6)) and harness.rows(out)[-1] == (5, 10)
    keep = Incremental(keys=["id"], chunk_size=4, on_version_change="keep")
    job, _ = harness.run([src], spec=keep, version="3")
    assert job.plan().mode is Mode.NOOP and harness.seen_keys() == []
    job, _ = harness.run([harness.source(events(range(7)))], spec=keep, version="3")
    assert job.plan().counts == {"new": 1} and harness.seen_keys() == [6]


def test_full_refresh_rebuilds_beside_the_old_generation(harness: Harness) -> None:
    """full_refresh recomputes every key into a new table and drops the superseded key state."""
    src = harness.source(events(range(5)))
    first, out1 = harness.run([src])
    job, out2 = harness.run([src], full_refresh=True)
    assert job.plan().counts == {"refresh": 5}
    assert out2.physical_name != out1.physical_name and harness.rows(out2) == harness.rows(out1)
    assert first.state_name not in harness.tables(harness.store.metadata_schema)


def test_error_fails_and_changes_nothing(harness: Harness) -> None:
    """A failing chunk names the task, the chunk's first and last key and its size; nothing is changed."""
    harness.run([harness.source(events(range(8)))])
    before = harness.tables(harness.store.data_schema("features")), harness.tables(harness.store.metadata_schema)

    def broken(inputs: dict[str, pa.Table]) -> pa.Table:
        if 5 in inputs["events"]["id"].to_pylist():
            raise ValueError("bad row")
        return doubled(inputs)

    job = harness.task([harness.source(events(range(8), [i + 1 for i in range(8)]))])
    with pytest.raises(TaskError, match=r"features\.doubled failed on chunk .*keys \d\.\.\d .*input rows\).*bad row"):
        job.execute(broken)
    after = harness.tables(harness.store.data_schema("features")), harness.tables(harness.store.metadata_schema)
    assert after == before
    _, out = harness.run([harness.source(events(range(8)))])
    assert harness.rows(out) == [(i, 2 * i) for i in range(8)]


def test_quarantine_retries_then_exhausts(harness: Harness) -> None:
    """Quarantine narrows a chunk to its bad key, publishes the rest, retries it, then reports it exhausted."""
    spec = Incremental(keys=["id"], chunk_size=4, on_error="quarantine", max_attempts=2)
    bad = {5}

    def flaky(inputs: dict[str, pa.Table]) -> pa.Table:
        if bad & set(inputs["events"]["id"].to_pylist()):
            raise ValueError("bad row")
        return doubled(inputs)

    src = harness.source(events(range(8)))
    job, out = harness.run([src], flaky, spec)
    assert [k for k, _ in job.summary.failed] == [5] and "bad row" in job.summary.failed[0][1]
    assert [r[0] for r in harness.rows(out)] == [0, 1, 2, 3, 4, 6, 7] and job.summary.quarantined == 1
    harness.seen_keys()
    job, _ = harness.run([src], flaky, spec)
    assert job.plan().counts == {"retried": 1} and job.summary.exhausted == 1 and job.summary.quarantined == 0
    job, _ = harness.run([src], flaky, spec)
    assert job.plan().mode is Mode.NOOP
    bad.clear()
    values = list(range(8))
    values[5] = 50
    job, out = harness.run([harness.source(events(range(8), values))], flaky, spec)
    assert job.plan().counts == {"new": 1} and (5, 100) in harness.rows(out)  # it never succeeded before
    assert job.summary.quarantined == 0 and job.summary.exhausted == 0


def test_several_inputs_with_required(harness: Harness) -> None:
    """Each due key gets every input's rows; required inputs must have the key (an inner join)."""
    names = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
    scores = pa.table({"id": pa.array([2, 3, 4], pa.int64()), "score": pa.array([20, 30, 40], pa.int64())})

    def joined(inputs: dict[str, pa.Table]) -> pa.Table:
        return inputs["names"].join(inputs["scores"], "id", join_type="full outer").select(["id", "name", "score"])

    sources = [harness.source(names, "names"), harness.source(scores, "scores")]
    _, out = harness.run(sources, joined, Incremental(keys=["id"], chunk_size=2))
    assert harness.rows(out) == [(1, "a", None), (2, "b", 20), (3, "c", 30), (4, None, 40)]
    _, out = harness.run(sources, joined, Incremental(keys=["id"], required=["scores"]), task="required")
    assert harness.rows(out) == [(2, "b", 20), (3, "c", 30), (4, None, 40)]
    sources[1] = harness.source(scores.set_column(1, "score", pa.array([20, 31, 40], pa.int64())), "scores")
    job, out = harness.run(sources, joined, Incremental(keys=["id"], required=["scores"]), task="required")
    assert job.plan().counts == {"changed": 1} and harness.rows(out)[1] == (3, "c", 31)


def test_composite_keys_and_cross_product(harness: Harness) -> None:
    """Inputs carrying part of a composite key combine as a cross product; a change reaches its pairs only."""
    images = pa.table({"image": ["i1", "i2"], "pixels": pa.array([10, 20], pa.int64())})
    models = pa.table({"model": ["m1", "m2", "m3"], "weight": pa.array([1, 2, 3], pa.int64())})

    def score(inputs: dict[str, pa.Table]) -> pa.Table:
        rows = [
            (i, m, p * w)
            for i, p in zip(inputs["images"]["image"].to_pylist(), inputs["images"]["pixels"].to_pylist(), strict=True)
            for m, w in zip(inputs["models"]["model"].to_pylist(), inputs["models"]["weight"].to_pylist(), strict=True)
        ]
        return pa.table({"image": [r[0] for r in rows], "model": [r[1] for r in rows], "score": [r[2] for r in rows]})

    spec = Incremental(keys=["image", "model"], chunk_size=4)
    sources = [harness.source(images, "images", ["image"]), harness.source(models, "models", ["model"])]
    _, out = harness.run(sources, score, spec)
    assert len(harness.rows(out, "image, model")) == 6
    sources[1] = harness.source(models.set_column(1, "weight", pa.array([1, 5, 3], pa.int64())), "models", ["model"])
    job, out = harness.run(sources, score, spec)
    assert job.plan().counts == {"changed": 2}
    assert [r for r in harness.rows(out, "image, model") if r[1] == "m2"] == [("i1", "m2", 50), ("i2", "m2", 100)]


def test_output_rows_for_foreign_keys_are_refused(harness: Harness) -> None:
    """A function returning rows for keys it was not given fails clearly instead of duplicating rows."""

    def shifted(inputs: dict[str, pa.Table]) -> pa.Table:
        return pa.table({"id": pc.add(inputs["events"]["id"], 100), "value2": inputs["events"]["value"]})

    with pytest.raises(TaskError, match=r"returned rows for key 10[0-9], which it was not given"):
        harness.run([harness.source(events(range(3)))], shifted)


def test_null_keys_are_refused(harness: Harness) -> None:
    """A NULL in a key column is a clear error, not a silently duplicated key."""
    data = pa.table({"id": pa.array([1, None], pa.int64()), "value": pa.array([1, 2], pa.int64())})
    with pytest.raises(TaskError, match="NULL in a key column"):
        harness.run([harness.source(data, primary_key=())])


def test_instances_never_share_key_state(harness: Harness, store_config: object) -> None:
    """The registration lives in the instance's metadata schema: another instance's store sees none of it."""
    harness.run([harness.source(events(range(3)))])
    schema = harness.store.metadata_schema
    assert {"incremental_tasks"} <= harness.tables(schema)
    rows = harness.store.execute_sql(f"SELECT task FROM {qualified(schema, 'incremental_tasks')}")
    assert rows == [("doubled",)]


def test_a_killed_run_leaves_nothing_behind(harness: Harness) -> None:
    """Tables of a run that was killed before publishing are swept by the task's next run; its output is untouched."""
    _, out = harness.run([harness.source(events(range(5)))])
    meta = harness.store.metadata_schema
    before = harness.tables(meta)
    killed = harness.task([harness.source(events(range(5), [9] * 5))])
    killed.execute(doubled)  # never published nor abandoned, as if the process died here
    assert harness.tables(meta) != before
    assert harness.rows(out) == [(i, 2 * i) for i in range(5)]
    job, out = harness.run([harness.source(events(range(5), [9] * 5))])
    state = {job.state_name, job.previous.state_table if job.previous else ""}
    assert {t for t in harness.tables(meta) if t.startswith("inc_")} <= {*state, *(f"{s}_f" for s in state)}
    assert harness.rows(out) == [(i, 18) for i in range(5)]
