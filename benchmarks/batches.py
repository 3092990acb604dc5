"""Cost of claiming a batch from a catalog of 10k vs 1M items: it should not grow with the catalog.

Run: ``python -m benchmarks.batches [--items 10000 1000000] [--batch 100] [--backends duckdb postgres]``

For each catalog size the job is positioned near the end, with every id below recorded in the
inventory (one range per ``--batch`` ids), as after a long history. Figures, per backend:

* ``claim``: one claim (new items above the position) plus recording its success, inside an
  open store: the inventory's own work, O(batch) by design (index range scan on the catalog).
* ``baseline``: the raw driver reading the same rows (``WHERE id > x ORDER BY id LIMIT n``).
* ``Inventory.claim``: the public call, which also opens and closes the store (no connection
  is held between calls); constant per call.
* ``late-id scan``: a claim that also looks for ids committed late below the position; this
  anti-join scans the job's items and runs once every ``LATE_SCAN_EVERY`` claims and when a
  job has caught up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.common import quiet, report, temp_config
from pipedag import ConfigContext, create_basic_pipedag_config
from pipedag.batches import BatchSource, Inventory
from pipedag.batches import claims as claims_module
from pipedag.batches.source import resolve
from pipedag.batches.tables import ensure_tables
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified, quote

URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _config(backend: str, url: str) -> ConfigContext:
    if backend == "duckdb":
        return temp_config("batches")
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    return create_basic_pipedag_config(url, schema_prefix=prefix).get()


def _fill(store: SQLTableStore, schema: str, items: int, batch: int, position: int) -> None:
    """A catalog of ``items`` rows (primary key on id) and an inventory holding ids up to ``position``."""
    import pyarrow as pa

    ids = pa.array(range(1, items + 1), pa.int64())
    data = pa.table({"id": ids, "path": pa.array([f"s3://bucket/{i}.parquet" for i in range(1, items + 1)]),
                     "size_mib": pa.array([float(i % 97) for i in range(1, items + 1)])})
    store.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    store.write_arrow(schema, "files", data)
    store.execute_sql(f"ALTER TABLE {qualified(schema, 'files')} ADD PRIMARY KEY (id)")
    ensure_tables(store)
    meta, half = store.metadata_schema, position  # ids recorded as processed
    catalog = qualified(schema, "files")
    range_of = f"CAST(floor((id - 1) / {batch}.0) AS BIGINT) + 1"  # `/` divides integers exactly on DuckDB
    with store.transaction():
        store.execute_sql(
            f"INSERT INTO {qualified(meta, 'batch_jobs')} VALUES ('bench', 'incremental', "
            f"'{schema}.files(id)', NULL, NULL, {half}, 0, 0, {-(-half // batch)}, now())"
        )
        store.execute_sql(
            f"INSERT INTO {qualified(meta, 'batch_items')} SELECT 'bench', id, {range_of} "
            f"FROM {catalog} WHERE id <= {half}"
        )
        store.execute_sql(
            f"INSERT INTO {qualified(meta, 'batch_ranges')} (job, range_id, id_min, id_max, item_count, weight, "
            "oversize, status, attempt, token, lease_until, claimed_at) "
            f"SELECT 'bench', {range_of}, min(id), max(id), count(*), sum(size_mib), false, "
            f"'succeeded', 1, 'x', now(), now() FROM {catalog} WHERE id <= {half} GROUP BY {range_of}"
        )
    if store.name == "postgresql":
        store.execute_sql(f"ANALYZE {catalog}")
        for table in ("batch_items", "batch_ranges", "batch_jobs"):
            store.execute_sql(f"ANALYZE {qualified(meta, table)}")


def _median_ms(repeats: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(backend: str, items: int, batch: int, repeats: int, url: str) -> dict[str, float]:
    """Milliseconds per claim (and the baselines) for one backend and catalog size."""
    config = _config(backend, url)
    schema = f"{config.schema_prefix}bench_catalog"
    source = BatchSource(f"{schema}.files", id="id", item="path", weight="size_mib")
    spec = source.incremental("bench", max_count=batch)
    who = claims_module.Claimant("bench")
    figures: dict[str, float] = {}
    try:
        with config.create_store() as store:
            # Room for every measured claim above the position (claims, late scans, Inventory calls).
            position = items - (repeats + max(3, repeats // 5) + max(3, repeats // 3) + 2) * batch
            if position < 1:
                raise ValueError(f"{items} items leave no room for {repeats} claims of {batch}; lower --batch.")
            _fill(store, schema, items, batch, position)
            src = resolve(store, source)

            def one_claim() -> None:
                found = claims_module.claim(store, spec, src, who)
                assert found is not None and found.count == batch
                with store.transaction():
                    claims_module.succeed(store, found)

            figures["claim"] = _median_ms(repeats, one_claim)
            figures["baseline"] = _median_ms(repeats, lambda: _raw_read(store, schema, position, batch))
            every = claims_module.LATE_SCAN_EVERY
            claims_module.LATE_SCAN_EVERY = 0  # every claim scans for late ids
            try:
                figures["late_scan"] = _median_ms(max(3, repeats // 5), one_claim)
            finally:
                claims_module.LATE_SCAN_EVERY = every
        inventory = Inventory(config)
        figures["inventory_claim"] = _median_ms(max(3, repeats // 3), lambda: inventory.claim(spec))
    finally:
        if backend == "postgres":
            _drop(url, config.schema_prefix)
    return figures


def _raw_read(store: SQLTableStore, schema: str, after: int, batch: int) -> None:
    """The rows of one batch read with the store's plain driver statement."""
    param = "$1" if store.name == "duckdb" else "%s"
    store.execute_sql(
        f"SELECT id, path, size_mib FROM {qualified(schema, 'files')} WHERE id > {param} ORDER BY id LIMIT {batch}",
        [after],
    )


def _drop(url: str, prefix: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for (name,) in con.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [prefix]):
            con.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")  # type: ignore[arg-type]


def main(
    items: tuple[int, ...] = (10_000, 1_000_000), batch: int = 100, repeats: int = 20,
    backends: tuple[str, ...] = ("duckdb", "postgres"), url: str = URL,
) -> dict[str, dict[int, dict[str, float]]]:
    """Measure and print ms per claim for each backend and catalog size; returns the figures."""
    quiet()
    results: dict[str, dict[int, dict[str, float]]] = {}
    for backend in backends:
        results[backend] = {n: measure(backend, n, batch, repeats, url) for n in items}
        rows = []
        for n, f in results[backend].items():
            rows.append((
                f"{n:>9,} items",
                f"claim+succeed {f['claim']:6.2f} ms (raw read {f['baseline']:5.2f} ms, "
                f"{f['claim'] / f['baseline']:4.1f}x) | Inventory.claim {f['inventory_claim']:6.2f} ms | "
                f"with late-id scan {f['late_scan']:7.2f} ms",
            ))
        small, large = results[backend][min(items)], results[backend][max(items)]
        growth = large["claim"] / small["claim"]
        rows.append(("growth", f"claim at {max(items):,} / at {min(items):,} items: {growth:.2f}x"))
        report(f"batch claims on {backend}, batches of {batch}", rows)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["duckdb", "postgres"], choices=["duckdb", "postgres"])
    parser.add_argument("--url", default=URL)
    args = parser.parse_args()
    main(tuple(args.items), args.batch, args.repeats, tuple(args.backends), args.url)
