"""The batch inventory on both backends: bounds, retries, leases, backfills, appended and late ids."""

from __future__ import annotations

import time

import pytest

from pipedag import ConfigContext, ConfigError, LeaseLostError
from pipedag.batches import BatchSource, Inventory
from tests.batches import catalog


def claim_all(inv: Inventory, spec: object) -> list[tuple[int, ...]]:
    """Claim and succeed batches until there is nothing to do; the ids of each batch."""
    out = []
    while (batch := inv.claim(spec)) is not None:  # type: ignore[arg-type]
        out.append(batch.ids)
        inv.succeed(batch)
    return out


def test_weight_and_count_bounds_with_an_oversize_item(store_config: ConfigContext) -> None:
    """Batches are the longest runs within max_weight and max_count; a too-heavy item goes alone, flagged."""
    sizes = {1: 300, 2: 300, 3: 300, 4: 2000, 5: 100, 6: 100, 7: 100, 8: 100, 9: 500}
    catalog.create(store_config, sizes)
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("ingest", max_weight=1000, max_count=3)
    batches = []
    while (batch := inv.claim(spec)) is not None:
        batches.append(batch)
        inv.succeed(batch)
    assert [b.ids for b in batches] == [(1, 2, 3), (4,), (5, 6, 7), (8, 9)]
    assert [b.oversize for b in batches] == [False, True, False, False]
    assert [b.weight for b in batches] == [900, 2000, 300, 600]
    assert batches[0].items == ("f1", "f2", "f3") and (batches[3].id_min, batches[3].id_max) == (8, 9)
    assert inv.claim(spec) is None
    assert [(r.id_min, r.id_max, r.count, r.status) for r in inv.status("ingest")] == [
        (1, 3, 3, "succeeded"), (4, 4, 1, "succeeded"), (5, 7, 3, "succeeded"), (8, 9, 2, "succeeded"),
    ]


def test_without_weight_column_items_weigh_one(store_config: ConfigContext) -> None:
    """Without a weight column each item weighs 1, and items default to the ids themselves."""
    catalog.create(store_config, catalog.ones(range(1, 8)))
    source = BatchSource(f"{catalog.schema_of(store_config)}.files", id="id")
    batch = Inventory(store_config).claim(source.incremental("j", max_weight=3))
    assert batch is not None and batch.ids == (1, 2, 3) and batch.items == (1, 2, 3) and batch.weight == 3


def test_failed_batch_is_retried_as_the_same_range_then_exhausted(store_config: ConfigContext) -> None:
    """A failed range comes back with attempt 2 (before new items), and is exhausted after max_attempts."""
    catalog.create(store_config, catalog.ones(range(1, 11)))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("ingest", max_count=4, max_attempts=2)
    first = inv.claim(spec, worker="w1")
    assert first is not None and first.ids == (1, 2, 3, 4) and first.attempt == 1
    inv.fail(first, ValueError("corrupt file f3"))
    assert [(r.status, r.attempt, r.error) for r in inv.status("ingest")] == [
        ("failed", 1, "ValueError: corrupt file f3")
    ]
    again = inv.claim(spec, worker="w2")
    assert again is not None and again.ids == first.ids and again.range_id == first.range_id
    assert again.attempt == 2 and again.worker == "w2"
    inv.fail(again, "still corrupt")
    (record,) = inv.status("ingest")
    assert (record.status, record.attempt, record.error, record.worker) == ("exhausted", 2, "still corrupt", "w2")
    following = inv.claim(spec)
    assert following is not None and following.ids == (5, 6, 7, 8) and following.attempt == 1


def test_acquire_records_success_and_failure(store_config: ConfigContext) -> None:
    """acquire() records success on a clean exit, failure (re-raising) on an exception, None when idle."""
    catalog.create(store_config, catalog.ones([1, 2]))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", max_count=1)
    with inv.acquire(spec) as batch:
        assert batch is not None and batch.ids == (1,)
    with pytest.raises(RuntimeError, match="disk full"), inv.acquire(spec) as batch:
        raise RuntimeError("disk full")
    assert [(r.status, r.error) for r in inv.status("j")] == [
        ("succeeded", None), ("failed", "RuntimeError: disk full")
    ]
    with inv.acquire(spec) as batch:
        assert batch is not None and batch.ids == (2,) and batch.attempt == 2
    with inv.acquire(spec) as batch:
        assert batch is None


def test_expired_lease_is_offered_again_and_the_old_worker_is_refused(store_config: ConfigContext) -> None:
    """A claim whose lease ran out goes to the next worker as attempt 2; the first worker then gets a clear error."""
    catalog.create(store_config, catalog.ones(range(1, 7)))
    inv = Inventory(store_config)
    source = catalog.source(store_config)
    held = inv.claim(source.incremental("j", max_count=3), worker="holder")  # the default lease: an hour
    stale = inv.claim(source.incremental("j", max_count=3, lease=0.3), worker="crashed")
    assert held is not None and stale is not None and stale.ids == (4, 5, 6)
    time.sleep(0.4)
    taken = inv.claim(source.incremental("j", max_count=3), worker="rescuer")
    assert taken is not None and taken.ids == stale.ids and taken.attempt == 2 and taken.worker == "rescuer"
    with pytest.raises(LeaseLostError, match=r"taken over \(now attempt 2 by worker 'rescuer'") as err:
        inv.succeed(stale)
    assert "longer lease=" in str(err.value)
    with pytest.raises(LeaseLostError):
        inv.fail(stale, "too late")
    inv.succeed(taken)
    with pytest.raises(LeaseLostError, match="already recorded as 'succeeded'"):
        inv.succeed(taken)
    records = inv.status("j")
    assert [(r.status, r.attempt, r.worker) for r in records] == [("claimed", 1, "holder"), ("succeeded", 2, "rescuer")]


def test_acquire_keeps_the_workers_error_when_its_lease_was_taken_over(store_config: ConfigContext) -> None:
    """An exception inside acquire() is re-raised as it is, noting that its failure could not be recorded."""
    catalog.create(store_config, catalog.ones([1]))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", lease=0.3)
    with pytest.raises(RuntimeError, match="slow worker") as err, inv.acquire(spec, worker="slow") as batch:
        assert batch is not None
        time.sleep(0.4)
        assert inv.claim(spec, worker="rescuer") is not None
        raise RuntimeError("slow worker")
    assert "could not record the failure" in " ".join(err.value.__notes__)


def test_expired_lease_on_the_last_attempt_exhausts_the_range(store_config: ConfigContext) -> None:
    """A range whose lease expires on its last allowed attempt is exhausted, and the job moves on."""
    catalog.create(store_config, catalog.ones(range(1, 5)))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", max_count=2, max_attempts=1, lease=0.3)
    assert inv.claim(spec) is not None
    time.sleep(0.4)
    nxt = inv.claim(spec)
    assert nxt is not None and nxt.ids == (3, 4)
    first = inv.status("j")[0]
    assert (first.status, first.error) == ("exhausted", "lease expired on attempt 1")


def test_backfill_stays_within_its_bounds_and_leaves_the_incremental_job(store_config: ConfigContext) -> None:
    """A backfill over 12..27 takes exactly those ids, reports done, and the incremental job's position stays."""
    catalog.create(store_config, catalog.ones(range(1, 31)))
    inv = Inventory(store_config)
    source = catalog.source(store_config)
    incremental = source.incremental("ingest", max_count=30)
    assert len(claim_all(inv, incremental)) == 1
    catalog.append(store_config, catalog.ones([31, 32]))
    backfill = source.backfill("reprocess_q1", id_min=12, id_max=27, max_count=10)
    assert claim_all(inv, backfill) == [tuple(range(12, 22)), tuple(range(22, 28))]
    assert inv.claim(backfill) is None
    assert {j.job: j.position for j in inv.jobs()} == {"ingest": 30, "reprocess_q1": 27}
    assert claim_all(inv, incremental) == [(31, 32)]


def test_backfill_whose_id_min_is_the_highest_id(store_config: ConfigContext) -> None:
    """A backfill starting at the highest id takes that one item and is done."""
    catalog.create(store_config, catalog.ones([3, 5, 9]))
    inv = Inventory(store_config)
    backfill = catalog.source(store_config).backfill("tail", id_min=9, id_max=1000, max_count=5)
    assert claim_all(inv, backfill) == [(9,)]
    assert inv.claim(backfill) is None


def test_appended_items_are_picked_up(store_config: ConfigContext) -> None:
    """Items appended after the job caught up form its next batches."""
    catalog.create(store_config, catalog.ones(range(1, 4)))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", max_count=2)
    assert claim_all(inv, spec) == [(1, 2), (3,)]
    catalog.append(store_config, catalog.ones([4, 5, 6]))
    assert claim_all(inv, spec) == [(4, 5), (6,)]


def test_late_id_below_the_watermark_is_offered(store_config: ConfigContext) -> None:
    """An id committed after higher ids were processed, inside an earlier batch's bounds, is still offered."""
    catalog.create(store_config, catalog.ones([1, 2, 4, 5, 7, 8]))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", max_count=3)
    assert claim_all(inv, spec) == [(1, 2, 4), (5, 7, 8)]
    catalog.append(store_config, catalog.ones([3, 6, 9]))  # 3 and 6 fall inside processed ranges
    # New ids come first; once nothing lies above the position, the job looks below it.
    assert claim_all(inv, spec) == [(9,), (3, 6)]
    assert [(r.id_min, r.id_max, r.count) for r in inv.status("j")][-1] == (3, 6, 2)


def test_late_id_is_found_while_new_items_keep_coming(
    store_config: ConfigContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that never catches up still looks below its position, once every LATE_SCAN_EVERY claims."""
    from pipedag.batches import claims

    monkeypatch.setattr(claims, "LATE_SCAN_EVERY", 2)
    LATE_SCAN_EVERY = 2
    catalog.create(store_config, catalog.ones([1, 3, 4]))
    inv = Inventory(store_config)
    spec = catalog.source(store_config).incremental("j", max_count=1)
    assert claim_all(inv, spec) == [(1,), (3,), (4,)]
    catalog.append(store_config, {2: 1.0, **catalog.ones(range(100, 101 + LATE_SCAN_EVERY))})
    seen = []
    for _ in range(LATE_SCAN_EVERY):
        batch = inv.claim(spec)
        assert batch is not None
        seen.extend(batch.ids)
        inv.succeed(batch)
    assert seen[-1] == 2 and seen[:-1] == list(range(100, 99 + LATE_SCAN_EVERY))


def test_a_job_keeps_its_kind_and_bounds(store_config: ConfigContext) -> None:
    """Reusing a job name for a different kind, source or range fails with a message naming both."""
    catalog.create(store_config, catalog.ones([1]))
    inv = Inventory(store_config)
    source = catalog.source(store_config)
    inv.claim(source.backfill("q1", id_min=1, id_max=5))
    with pytest.raises(ConfigError, match=r"'q1' exists as backfill job over ids 1..5 .* own job name"):
        inv.claim(source.backfill("q1", id_min=1, id_max=9))


def test_missing_source_table_is_a_clear_error(store_config: ConfigContext) -> None:
    """A source table that does not exist fails with a ConfigError naming it, not a driver error."""
    inv = Inventory(store_config)
    with pytest.raises(ConfigError, match=r"Cannot read batch source nowhere\.files"):
        inv.claim(BatchSource("nowhere.files", id="id").incremental("j"))


def test_spec_validation() -> None:
    """Bad bounds are refused when the spec is made."""
    source = BatchSource("landing.files", id="id")
    with pytest.raises(ConfigError, match="id_min 9 is above id_max 1"):
        source.backfill("b", id_min=9, id_max=1)
    with pytest.raises(ConfigError, match=r"max_count must be an int >= 1"):
        source.incremental("j", max_count=0)
    with pytest.raises(ConfigError, match=r"'stage\.table'"):
        BatchSource("files", id="id")
