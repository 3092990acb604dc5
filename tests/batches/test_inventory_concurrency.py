"""Concurrent workers on one job get disjoint batches whose union is exactly the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import pytest

from pipedag import ConfigContext
from pipedag.batches import Inventory
from tests.batches import catalog

ITEMS = 120
WORKERS = 4


def run_worker(
    inv: Inventory, config: ConfigContext, name: str, start: threading.Barrier, out: list[tuple[str, tuple[int, ...]]]
) -> None:
    """Claim and succeed batches of the shared job until there is nothing left."""
    spec = catalog.source(config, weight=False).incremental("shared", max_count=7)
    start.wait()
    while (batch := inv.claim(spec, worker=name)) is not None:
        out.append((name, batch.ids))
        inv.succeed(batch)


def check_disjoint_cover(taken: list[tuple[str, tuple[int, ...]]]) -> None:
    """Every id was taken exactly once, and more than one worker took part."""
    counts = Counter(i for _, ids in taken for i in ids)
    assert sorted(counts) == list(range(1, ITEMS + 1))
    assert set(counts.values()) == {1}
    assert len({name for name, _ in taken}) > 1


def test_threads_get_disjoint_batches_covering_every_item(store_config: ConfigContext) -> None:
    """Four threads, each with its own Inventory, share the work without overlap or loss."""
    catalog.create(store_config, catalog.ones(range(1, ITEMS + 1)))
    taken: list[tuple[str, tuple[int, ...]]] = []
    start = threading.Barrier(WORKERS)
    threads = [
        threading.Thread(target=run_worker, args=(Inventory(store_config), store_config, f"t{n}", start, taken))
        for n in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    check_disjoint_cover(taken)
    ranges = Inventory(store_config).status("shared")
    assert sum(r.count for r in ranges) == ITEMS and {r.status for r in ranges} == {"succeeded"}


WORKER = textwrap.dedent(
    """
    import json, sys
    from pipedag import create_basic_pipedag_config
    from pipedag.batches import BatchSource, Inventory

    url, prefix, table, name = sys.argv[1:5]
    config = create_basic_pipedag_config(url, schema_prefix=prefix).get()
    inv = Inventory(config)
    spec = BatchSource(table, id="id", item="path").incremental("shared", max_count=7)
    sys.stdin.readline()  # start together
    taken = []
    while (batch := inv.claim(spec, worker=name)) is not None:
        taken.append(list(batch.ids))
        inv.succeed(batch)
    print(json.dumps(taken))
    """
)


@pytest.mark.slow  # four interpreter start-ups: ~5 s on a quiet machine
def test_processes_get_disjoint_batches_covering_every_item(store_config: ConfigContext) -> None:
    """Four worker processes share the work without overlap or loss (on DuckDB they take turns on the file)."""
    config = store_config
    catalog.create(config, catalog.ones(range(1, ITEMS + 1)))
    table = f"{catalog.schema_of(config)}.files"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, config.table_store_url, config.schema_prefix, table, f"p{n}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for n in range(WORKERS)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    outputs = []
    for proc in procs:
        assert proc.stdout is not None
        with proc.stdout:
            outputs.append(proc.stdout.read())
        proc.wait(timeout=120)
    assert all(proc.returncode == 0 for proc in procs)
    taken = [(f"p{n}", tuple(ids)) for n, out in enumerate(outputs) for ids in json.loads(out)]
    check_disjoint_cover(taken)
