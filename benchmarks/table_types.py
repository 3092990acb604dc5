"""Table-type hooks against the raw drivers, measured in the same run on the same data.

Run ``python -m benchmarks.table_types [--rows N] [--repeats R]``. Prints, per frame type:

* write: pipedag's hook (frame -> Arrow -> DuckDB) vs raw Arrow ingest of the same frame
  already converted to Arrow (``register`` + ``CREATE TABLE AS``); target >= 90%.
* read: pipedag's hook (DuckDB -> frame) vs raw ``to_arrow_table()`` + the same conversion;
  target >= 90%.
* the per-task cost of CODE_VERSION and AUTO_VERSION; target < 5 ms.

Figures are medians of ``--repeat`` runs; ratios are raw time / pipedag time (100% = as fast).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _median_seconds(fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _paired(
    raw: Callable[[], Any], ours: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """Medians of raw and pipedag, measured alternately (after one warm-up each) so drift hits both."""
    raw_times, our_times = [], []
    for i in range(repeat + 1):
        for fn, times in ((raw, raw_times), (ours, our_times)) if i % 2 else ((ours, our_times), (raw, raw_times)):
            if setup is not None:
                setup()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(raw_times[1:]), statistics.median(our_times[1:])


def _frame(rows: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(0)
    return pa.table(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.random(rows),
            "group": rng.integers(0, 1000, rows, dtype=np.int32),
            "label": [f"name-{i % 5000}" for i in range(rows)],
            "flag": rng.random(rows) > 0.5,
        }
    )


def _report(kind: str, name: str, raw: float, ours: float, figures: dict[str, float]) -> None:
    times = f"raw {raw * 1000:8.1f} ms   pipedag {ours * 1000:8.1f} ms"
    print(f"{kind:5} {name:14} {times}   {raw / ours:6.1%}  (target >= 90%)")
    figures[f"{kind}_{name}"] = raw / ours


def bench_frames(rows: int, repeat: int, figures: dict[str, float]) -> None:
    """Write and read figures for pandas (numpy and Arrow dtypes), polars and pyarrow."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from pipedag import PandasArrowDataFrame, create_basic_pipedag_config
    from pipedag.core.table import TableRef
    from pipedag.store.hooks import hook_for_object, hook_for_type
    from pipedag.store.identifiers import qualified

    source = _frame(rows)
    frames: dict[str, Any] = {
        "pandas": source.to_pandas(),
        "pandas[arrow]": source.to_pandas(types_mapper=pd.ArrowDtype),
        "polars": pl.from_arrow(source),
        "pyarrow": source,
    }
    converters: dict[str, Callable[[Any], Any]] = {
        "pandas": lambda df: pa.Table.from_pandas(df, preserve_index=False),
        "pandas[arrow]": lambda df: pa.Table.from_pandas(df, preserve_index=False),
        "polars": lambda df: df.to_arrow(),
        "pyarrow": lambda t: t,
    }
    readers: dict[str, tuple[Any, Callable[[Any], Any]]] = {
        "pandas": (pd.DataFrame, lambda t: t.to_pandas()),
        "pandas[arrow]": (PandasArrowDataFrame, lambda t: t.to_pandas(types_mapper=pd.ArrowDtype)),
        "polars": (pl.DataFrame, pl.from_arrow),
        "pyarrow": (pa.Table, lambda t: t),
    }
    with tempfile.TemporaryDirectory() as folder:
        config = create_basic_pipedag_config(f"duckdb:///{Path(folder) / 'bench.duckdb'}").get()
        store = config.create_store()
        with store:
            con = store.connection  # type: ignore[attr-defined]
            con.execute('CREATE SCHEMA IF NOT EXISTS "bench_s"')

            def drop() -> None:
                con.execute('DROP TABLE IF EXISTS "bench_s"."t"')

            for name, frame in frames.items():
                arrow = converters[name](frame)  # raw ingest starts from Arrow: conversion not charged

                def raw_write(arrow: Any = arrow) -> None:
                    con.register("raw_input", arrow)
                    con.execute('CREATE TABLE "bench_s"."t" AS SELECT * FROM raw_input')
                    con.unregister("raw_input")

                hook = hook_for_object(frame)
                assert hook is not None

                def our_write(frame: Any = frame, hook: Any = hook) -> None:
                    hook.materialize(store, frame, "bench_s", "t")

                raw, ours = _paired(raw_write, our_write, repeat, drop)
                _report("write", name, raw, ours, figures)

            drop()
            store.write_arrow("bench_s", "t", source)
            ref = TableRef("bench_s", "t", "bench_s", "t", "k")
            for name, (as_type, convert) in readers.items():
                read_hook = hook_for_type(as_type)
                assert read_hook is not None

                def raw_read(convert: Callable[[Any], Any] = convert) -> None:
                    convert(con.sql(f"SELECT * FROM {qualified('bench_s', 't')}").to_arrow_table())

                def our_read(read_hook: Any = read_hook, as_type: Any = as_type) -> None:
                    read_hook.retrieve(store, ref, as_type)

                raw, ours = _paired(raw_read, our_read, repeat)
                _report("read", name, raw, ours, figures)


def bench_versions(repeat: int, figures: dict[str, float]) -> None:
    """Per-task cost of CODE_VERSION (cold and warm) and AUTO_VERSION (plan on empty inputs)."""
    import polars as pl
    import pyarrow as pa

    from pipedag.cache import code_version as cv
    from pipedag.cache.auto_version import auto_version
    from pipedag.core.table import TableRef

    def helper(frame: Any) -> Any:
        return frame.filter(pl.col("value") > 0.5)

    def task(tbl: Any) -> Any:
        """A typical polars task."""
        out = helper(tbl).with_columns(double=pl.col("value") * 2)  # comment
        return out.group_by("group").agg(pl.col("double").sum())

    def cold() -> None:
        cv._parsed.clear()
        cv.code_version(task)

    cold_s = _median_seconds(cold, repeat * 5)
    warm_s = _median_seconds(lambda: cv.code_version(task), repeat * 5)
    schema = pa.schema([("id", pa.int64()), ("value", pa.float64()), ("group", pa.int32())])
    ref = TableRef("s", "t", "s", "t", "k")
    auto_s = _median_seconds(lambda: auto_version("s.task", task, ((ref,), {}), lambda _: schema), repeat * 5)
    for label, seconds in (("CODE_VERSION cold", cold_s), ("CODE_VERSION warm", warm_s), ("AUTO_VERSION", auto_s)):
        print(f"{label:18} {seconds * 1000:6.2f} ms per task   (target < 5 ms)")
        figures[label.replace(" ", "_").lower() + "_ms"] = seconds * 1000


def main(rows: int = 1_000_000, repeats: int = 5) -> dict[str, float]:
    """Run every measurement; returns the ratios (raw / pipedag) and version costs in ms."""
    from benchmarks.common import quiet

    quiet()
    figures: dict[str, float] = {}
    print(f"{rows:,} rows x 5 columns, median of {repeats}")
    bench_frames(rows, repeats, figures)
    bench_versions(repeats, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the benchmark frame")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median)")
    args = parser.parse_args()
    main(args.rows, args.repeats)
