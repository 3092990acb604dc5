"""Start-up of the ``pipedag`` CLI against bare Python and against importing the heavy libraries.

Target: ``pipedag --help`` under 0.5 s, i.e. far from the ~1 s that importing pandas, polars,
pyarrow, duckdb and SQLAlchemy together costs. Run: ``python -m benchmarks.cli_startup``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

REPEATS = 7


def _median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the medians and the ratios."""
    python = _median_seconds([sys.executable, "-c", "pass"])
    heavy = _median_seconds([sys.executable, "-c", "import pandas, pyarrow, duckdb, sqlalchemy"])
    cli = _median_seconds([sys.executable, "-m", "pipedag.cli.main", "--help"])
    print(f"python -c pass:                      {python:.3f} s")
    print(f"import pandas, pyarrow, duckdb, sa:  {heavy:.3f} s")
    print(f"pipedag --help:                      {cli:.3f} s  (target < 0.5 s)")
    print(f"ratio pipedag --help / heavy imports: {cli / heavy:.2f}")


if __name__ == "__main__":
    main()
