"""Record-level incremental tasks against hand-written set-based SQL, in the same run.

Run: ``python -m benchmarks.incremental [--rows 1000000] [--chunk 10000] [--backend duckdb|postgres|both]``

A source table ``(id, value)`` with a primary key feeds ``value * 2``, chunk by chunk. Steps:
first run, no-op rerun, 1% of the values updated, 1% of the rows deleted, 0.1% updated. Each
step is timed for

* pipedag: an incremental task (``pipedag.incremental``): hash per row in the database, diff
  against the key state, only due keys read into pandas and written back, the delta and the key
  state published in one transaction;
* the baseline: plain SQL doing the same bookkeeping set-based — a 64-bit hash per row into a
  keyed state table, the changed ids by an outer join, deletes by an anti join, ``value * 2``
  upserted into an output table with a primary key — all in one transaction.

The no-op rerun is also measured on a source of a tenth of the rows (its cost must not grow
with the table), and as a whole ``flow.run()`` of a two-task flow (a lazy SQL source and the
incremental task) at both sizes. Source versions are prepared untimed, in SQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipedag import ConfigContext, create_basic_pipedag_config
from pipedag.incremental import Incremental
from pipedag.incremental.run import IncrementalTask
from pipedag.incremental.sources import Source
from pipedag.log import set_level
from pipedag.store.base import SQLTableStore
from pipedag.store.identifiers import qualified

URL = os.environ.get("PIPEDAG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
STEPS = ("first run", "no-op rerun", "1% update", "1% delete", "0.1% update")

# The baseline's 64-bit row hash, written out by hand per database.
_BASELINE_HASH = {"duckdb": "hash(s.id, s.value)", "postgresql": "hashtextextended(ROW(s.id, s.value)::text, 0)"}
_BASELINE_HASH_TYPE = {"duckdb": "UBIGINT", "postgresql": "BIGINT"}


def doubled(inputs: dict[str, Any]) -> Any:
    """The user's function, as in the issue: pandas in, ``value * 2`` out."""
    import pyarrow as pa

    events = inputs["events"]
    events = events.to_pandas() if hasattr(events, "to_pandas") else events
    out = events.assign(value2=events.value * 2)[["id", "value2"]]
    return pa.Table.from_pandas(out, preserve_index=False)


class Bench:
    """One backend: a store, a source table per step, pipedag's task and the baseline's tables."""

    def __init__(self, config: ConfigContext, rows: int, chunk: int) -> None:
        self.store: SQLTableStore = config.create_store()
        self.store.open()
        self.rows, self.chunk = rows, chunk
        self.run_id = 0
        self.tag = f"b{uuid.uuid4().hex[:6]}"
        self.store.prepare_stage("raw")
        self.store.prepare_stage("features")
        self.src_schema = self.store.data_schema("raw")
        self.base = (
            qualified(self.src_schema, f"{self.tag}_base_state"),
            qualified(self.src_schema, f"{self.tag}_base_out"),
        )

    # ------------------------------------------------------------- sources

    def source(self, version: int, sql: str) -> Source:
        """Create source table number ``version`` from ``sql`` (untimed)."""
        name = f"{self.tag}_src{version}"
        self.store.create_table_as(self.src_schema, name, sql, [])
        self.store.execute_sql(f"ALTER TABLE {qualified(self.src_schema, name)} ADD PRIMARY KEY (id)")
        self.store.analyze(qualified(self.src_schema, name))
        columns = self.store.table_columns(self.src_schema, name)
        return Source("events", self.src_schema, name, columns, f"{name}-content", ("id",))

    def first_source(self, rows: int, version: int = 0) -> Source:
        """``rows`` ids with value = id."""
        if self.store.name == "duckdb":
            sql = f"SELECT CAST(range AS BIGINT) AS id, CAST(range AS BIGINT) AS value FROM range(0, {rows})"
        else:
            series = f"generate_series(0, {rows - 1}) AS t(g)"
            sql = f"SELECT CAST(g AS BIGINT) AS id, CAST(g AS BIGINT) AS value FROM {series}"
        return self.source(version, sql)

    def updated(self, before: Source, version: int, every: int) -> Source:
        """Every ``every``-th row gets a new value."""
        value = f"CASE WHEN MOD(id, {every}) = 3 THEN value + {version} ELSE value END"
        return self.source(version, f"SELECT id, {value} AS value FROM {before.sql}")

    def deleted(self, before: Source, version: int, every: int) -> Source:
        """Every ``every``-th row removed."""
        return self.source(version, f"SELECT id, value FROM {before.sql} WHERE MOD(id, {every}) <> 7")

    # ------------------------------------------------------------- pipedag

    def pipedag(self, source: Source, task: str = "doubled") -> float:
        """One run of the incremental task: plan, execute, publish in one transaction, clean up."""
        self.run_id += 1
        start = time.perf_counter()
        job = IncrementalTask(
            self.store, Incremental(keys=["id"], chunk_size=self.chunk), stage="features",
            task=f"{self.tag}_{task}", sources=[source], version="1", run_id=self.run_id,
            output_name=f"{self.tag}_{task}",
        )
        job.execute(doubled)
        with self.store.transaction():
            job.publish()
        return time.perf_counter() - start

    # ------------------------------------------------------------ baseline

    def baseline(self, source: Source) -> float:
        """The same bookkeeping in hand-written SQL, one transaction."""
        store, (state, out) = self.store, self.base
        row_hash, hash_type = _BASELINE_HASH[store.name], _BASELINE_HASH_TYPE[store.name]
        changed = qualified(self.src_schema, f"{self.tag}_base_changed_{self.run_id}")
        start = time.perf_counter()
        with store.transaction():
            if not store.list_tables(self.src_schema) & {f"{self.tag}_base_state"}:
                store.execute_sql(f"CREATE TABLE {state} (id BIGINT PRIMARY KEY, h {hash_type})")
                store.execute_sql(f"CREATE TABLE {out} (id BIGINT PRIMARY KEY, value2 BIGINT)")
            store.execute_sql(
                f"CREATE TABLE {changed} AS SELECT s.id, {row_hash} AS h FROM {source.sql} AS s "
                f"LEFT JOIN {state} AS t ON t.id = s.id WHERE t.h IS NULL OR t.h <> {row_hash}"
            )
            gone = f"SELECT t.id FROM {state} AS t WHERE NOT EXISTS (SELECT 1 FROM {source.sql} AS s WHERE s.id = t.id)"
            store.execute_sql(f"DELETE FROM {out} WHERE id IN ({gone})")
            store.execute_sql(f"DELETE FROM {state} WHERE id IN ({gone})")
            store.execute_sql(
                f"INSERT INTO {out} SELECT s.id, s.value * 2 FROM {source.sql} AS s JOIN {changed} AS c ON c.id = s.id "
                "ON CONFLICT (id) DO UPDATE SET value2 = excluded.value2"
            )
            store.execute_sql(
                f"INSERT INTO {state} SELECT id, h FROM {changed} ON CONFLICT (id) DO UPDATE SET h = excluded.h"
            )
            store.execute_sql(f"DROP TABLE {changed}")
        return time.perf_counter() - start

    def check(self, source: Source) -> None:
        """pipedag's output equals the baseline's (same rows, same values)."""
        job = IncrementalTask(
            self.store, Incremental(keys=["id"]), stage="features", task=f"{self.tag}_doubled", sources=[source],
            version="1", run_id=self.run_id, output_name="x",
        )
        assert job.previous is not None
        ours = qualified(job.schema, job.previous.output["physical_name"])
        (diff,) = self.store.execute_sql(
            f"SELECT COUNT(*) FROM (SELECT id, value2 FROM {ours} EXCEPT SELECT id, value2 FROM {self.base[1]}) AS a"
        )[0]
        (n_ours,), (n_base,) = (self.store.execute_sql(f"SELECT COUNT(*) FROM {t}")[0] for t in (ours, self.base[1]))
        assert diff == 0 and n_ours == n_base, f"outputs differ: {diff} rows, {n_ours} vs {n_base}"

    def close(self) -> None:
        self.store.close()


def run_backend(config: ConfigContext, rows: int, chunk: int, repeat: int = 1) -> dict[str, tuple[float, float]]:
    """All steps on one backend, ``repeat`` times; returns ``{step: (pipedag s, baseline s)}`` medians."""
    runs = [_run_once(config, rows, chunk) for _ in range(repeat)]
    return {
        step: (statistics.median(r[step][0] for r in runs), statistics.median(r[step][1] for r in runs))
        for step in runs[0]
    }


def _run_once(config: ConfigContext, rows: int, chunk: int) -> dict[str, tuple[float, float]]:
    bench = Bench(config, rows, chunk)
    try:
        figures: dict[str, tuple[float, float]] = {}
        steps: list[tuple[str, Callable[[Source], Source]]] = [
            ("first run", lambda s: s),
            ("no-op rerun", lambda s: s),
            ("1% update", lambda s: bench.updated(s, 2, 100)),
            ("1% delete", lambda s: bench.deleted(s, 3, 100)),
            ("0.1% update", lambda s: bench.updated(s, 4, 1000)),
        ]
        source = bench.first_source(rows)
        for step, prepare in steps:
            source = prepare(source)
            ours = bench.pipedag(source)
            base = bench.baseline(source)
            bench.check(source)
            figures[step] = (ours, base)
        small = bench.first_source(max(rows // 10, 1), version=10)
        bench.pipedag(small, task="small")
        figures["no-op, 1/10 rows"] = (statistics.median(bench.pipedag(small, task="small") for _ in range(5)), 0.0)
        figures["no-op rerun"] = (statistics.median(bench.pipedag(source) for _ in range(5)), figures["no-op rerun"][1])
    finally:
        bench.close()
    figures["flow no-op"] = (flow_noop(config, rows, chunk), 0.0)
    figures["flow no-op, 1/10"] = (flow_noop(config, max(rows // 10, 1), chunk), 0.0)
    return figures


def flow_noop(config: ConfigContext, rows: int, chunk: int, repeat: int = 5) -> float:
    """Median seconds of a no-op ``flow.run()``: a lazy SQL source and the incremental task, both cache-valid."""
    import sqlalchemy as sa

    from pipedag import Flow, Stage, Table, materialize

    if config.table_store_url.startswith("duckdb"):
        query = f"SELECT CAST(range AS BIGINT) AS id, CAST(range AS BIGINT) AS value FROM range(0, {rows})"
    else:
        series = f"generate_series(0, {rows - 1}) AS t(g)"
        query = f"SELECT CAST(g AS BIGINT) AS id, CAST(g AS BIGINT) AS value FROM {series}"

    @materialize(lazy=True, name="events")
    def events() -> Table:
        return Table(sa.text(query), "events", primary_key=["id"])

    @materialize(version="1", input_type=pa_table(), incremental=Incremental(keys=["id"], chunk_size=chunk))
    def doubled_flow(events: Any) -> Any:
        return doubled({"events": events})

    with Flow(f"noop_{rows}") as flow:
        with Stage(f"src_{rows}"):
            source = events()
        with Stage(f"out_{rows}"):
            doubled_flow(source)
    assert flow.run(config).successful
    return statistics.median(_timed_run(flow, config) for _ in range(repeat))


def pa_table() -> type:
    import pyarrow as pa

    return pa.Table


def _timed_run(flow: Any, config: ConfigContext) -> float:
    start = time.perf_counter()
    result = flow.run(config)
    seconds = time.perf_counter() - start
    assert result.successful and all(s.value == "cache-valid" for s in result.task_states.values())
    return seconds


def report(backend: str, rows: int, figures: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Print the table of seconds and ratios; return the ratios the issue sets targets for."""
    first = figures["first run"][0]
    print(f"\n== incremental, {backend}, {rows:,} rows (pipedag vs hand-written SQL, same run)")
    print(f"  {'step':<18}{'pipedag s':>11}{'baseline s':>12}{'ratio':>8}{'of first run':>14}")
    for step, (ours, base) in figures.items():
        ratio = f"{ours / base:.2f}" if base else ""
        print(f"  {step:<18}{ours:>11.3f}{base:>12.3f}{ratio:>8}{ours / first:>13.1%}")
    ratios = {
        "first_vs_baseline": first / figures["first run"][1],
        "noop_ms": figures["no-op rerun"][0] * 1000,
        "noop_1m_vs_100k": figures["no-op rerun"][0] / figures["no-op, 1/10 rows"][0],
        "flow_noop_ms": figures["flow no-op"][0] * 1000,
        "flow_noop_1m_vs_100k": figures["flow no-op"][0] / figures["flow no-op, 1/10"][0],
        "update_1pct_of_first": figures["1% update"][0] / first,
        "delete_1pct_of_first": figures["1% delete"][0] / first,
        "update_01pct_of_first": figures["0.1% update"][0] / first,
    }
    print("  " + ", ".join(f"{k}={v:.3f}" for k, v in ratios.items()))
    return ratios


def main(rows: int = 1_000_000, chunk: int = 10_000, backends: tuple[str, ...] = ("duckdb", "postgres"),
         url: str = URL, repeat: int = 1) -> dict[str, dict[str, float]]:
    """Run the benchmark on each backend (medians of ``repeat`` sequences); returns the ratios per backend."""
    set_level("WARNING")
    results: dict[str, dict[str, float]] = {}
    for backend in backends:
        if backend == "duckdb":
            folder = Path(tempfile.mkdtemp(prefix="pipedag-bench-incremental-"))
            config = create_basic_pipedag_config(f"duckdb:///{folder / 'bench.duckdb'}").get()
            results[backend] = report(backend, rows, run_backend(config, rows, chunk, repeat))
            continue
        prefix = f"bench_{uuid.uuid4().hex[:6]}_"
        config = create_basic_pipedag_config(url, schema_prefix=prefix).get()
        try:
            results[backend] = report(backend, rows, run_backend(config, rows, chunk, repeat))
        finally:
            _drop_schemas(url, prefix)
    return results


def _drop_schemas(url: str, prefix: str) -> None:
    """Drop every schema this run created (they all start with its unique prefix)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        names = con.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", [prefix]).fetchall()
        for (name,) in names:
            con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--backend", choices=("duckdb", "postgres", "both"), default="both")
    parser.add_argument("--url", default=URL)
    parser.add_argument("--repeat", type=int, default=3, help="Sequences per backend (medians are reported).")
    args = parser.parse_args()
    chosen = ("duckdb", "postgres") if args.backend == "both" else (args.backend,)
    main(args.rows, args.chunk, chosen, args.url, args.repeat)
