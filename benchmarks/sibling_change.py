"""Rerun cost when a big cache-valid table's sibling task changed: must not depend on its size.

Target: time(5M rows) / time(1M rows) <= 1.1 (the leading peer copies the big table: +2 s at 5M).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

from benchmarks.common import frame, quiet, report, temp_config
from pipedag import Flow, Stage, TaskState, materialize


def rerun_seconds(rows: int, repeats: int) -> float:
    """Median time of a run where only the small sibling of a ``rows``-row table changed."""
    config = temp_config(f"sibling-{rows}")
    data = frame(rows)

    def build(sibling_version: int) -> Flow:
        @materialize(name="big", version="1")
        def big() -> pd.DataFrame:
            return data

        @materialize(name="small", version=str(sibling_version))
        def small() -> pd.DataFrame:
            return pd.DataFrame({"v": [sibling_version]})

        with Flow("bench") as flow, Stage("s"):
            big()
            small()
        return flow

    build(0).run(config)
    times = []
    for version in range(1, repeats + 1):
        flow = build(version)
        start = time.perf_counter()
        result = flow.run(config)
        times.append(time.perf_counter() - start)
        assert result.task_states == {"s.big": TaskState.CACHE_VALID, "s.small": TaskState.RAN}
    return statistics.median(times)


def main(small: int = 1_000_000, large: int = 5_000_000, repeats: int = 11) -> dict[str, float]:
    """Measure both sizes in one process and report the ratio."""
    quiet()
    t_small = rerun_seconds(small, repeats)
    t_large = rerun_seconds(large, repeats)
    ratio = t_large / t_small
    report(
        "rerun with a changed sibling of a big cache-valid table",
        [
            (f"{small:,} rows", f"{t_small * 1000:.1f} ms"),
            (f"{large:,} rows", f"{t_large * 1000:.1f} ms"),
            ("ratio large/small", f"{ratio:.2f}  target <= 1.1"),
        ],
    )
    return {"small_s": t_small, "large_s": t_large, "ratio": ratio}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    main(args.small, args.large, args.repeats)
