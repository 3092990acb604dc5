"""Start-up of the ``pipedag`` CLI against bare Python and against importing the heavy libraries.

Target: ``pipedag --help`` under 0.5 s, far below the ~0.5-1 s that importing pandas, pyarrow,
duckdb and SQLAlchemy together costs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from benchmarks.common import median_of, report


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def main(repeats: int = 7) -> dict[str, float]:
    """Median start-up times of ``python -c pass``, the heavy imports and ``pipedag --help``."""
    python = median_of(repeats, lambda: _run([sys.executable, "-c", "pass"]))
    heavy = median_of(repeats, lambda: _run([sys.executable, "-c", "import pandas, pyarrow, duckdb, sqlalchemy"]))
    cli = median_of(repeats, lambda: _run([sys.executable, "-m", "pipedag.cli.main", "--help"]))
    report(
        "CLI start-up",
        [
            ("python -c pass", f"{python:.3f} s"),
            ("import pandas, pyarrow, duckdb, sqlalchemy", f"{heavy:.3f} s"),
            ("pipedag --help", f"{cli:.3f} s  target < 0.5 s"),
            ("ratio --help / heavy imports", f"{cli / heavy:.2f}"),
        ],
    )
    return {"python_s": python, "heavy_s": heavy, "cli_s": cli, "ratio": cli / heavy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    main(parser.parse_args().repeats)
