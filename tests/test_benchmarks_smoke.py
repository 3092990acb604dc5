"""The benchmarks still run (on tiny data), so that the published figures can be reproduced."""

from pathlib import Path

import pandas as pd
import pytest

from benchmarks import flow_overhead, ingest, sibling_change
from pipedag import Flow, Stage, create_basic_pipedag_config, materialize


def test_flow_overhead_runs() -> None:
    """The overhead benchmark builds and runs its flow twice."""
    figures = flow_overhead.main(stages=2, per_stage=5)
    assert figures["tasks"] == 10


def test_sibling_change_runs() -> None:
    """The sibling-change benchmark measures both sizes and a ratio."""
    figures = sibling_change.main(small=1_000, large=5_000, repeats=2)
    assert figures["ratio"] > 0


def test_ingest_runs() -> None:
    """The ingest benchmark compares raw and pipedag ingest."""
    figures = ingest.main(rows=10_000, repeats=1)
    assert figures["ratio"] > 0
    assert figures["run_s"] >= figures["pipedag_s"] and 0 < figures["run_ratio"] <= figures["ratio"]


def test_overhead_rerun_that_is_not_all_cache_valid_is_refused(tmp_path: Path) -> None:
    """The overhead benchmark's rerun check fails when a task of the rerun ran instead of being cache-valid."""

    @materialize  # no version: runs every time
    def always() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with Flow("f") as flow, Stage("s"):
        always()
    config = create_basic_pipedag_config(f"duckdb:///{tmp_path / 'b.duckdb'}").get()
    flow.run(config)
    with pytest.raises(AssertionError, match=r"not 100% cache-valid \(1 tasks\): s\.always ran"):
        flow_overhead.assert_all_cache_valid(flow.run(config))
