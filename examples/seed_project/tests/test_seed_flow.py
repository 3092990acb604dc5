"""The seed flow on its mini and midi instances (full is tagged slow: `pytest -m slow --pipedag-instance full`)."""

from __future__ import annotations

import pandas as pd
import pytest
from seed_flow import CUSTOMERS, build_flow, segment_report, wire

from pipedag import ConfigContext
from pipedag.testing import assert_cache_valid, assert_ran, capture_decisions


@pytest.mark.instances("mini", "midi", "full")
def test_flow_runs_on_the_instance_sample(pipedag_config: ConfigContext) -> None:
    """The sample keeps one customer in `sample_every`, and the report adds up to the sample."""
    flow, out = wire()  # the instance's config is active: wire() reads its attrs
    result = flow.run()
    assert result.successful
    every = pipedag_config.attrs["sample_every"]
    features = result.get(out["customer_features"], as_type=pd.DataFrame)
    assert len(features) == CUSTOMERS // every
    report = result.get(out["segment_report"], as_type=pd.DataFrame)
    assert report.customers.sum() == len(features)
    assert report.revenue.sum() == pytest.approx(features.revenue.sum())


@pytest.mark.instances("mini", "midi")
def test_second_run_is_all_cache_valid(pipedag_tmp_config: ConfigContext) -> None:
    """On a fresh store the first run computes everything and an identical rerun reuses it all."""
    assert_ran(build_flow().run())
    with capture_decisions() as captured:
        assert_cache_valid(build_flow().run())
    assert captured.decision("segment_report").reason == "cache hit"


@pytest.mark.instances("mini")
def test_changing_the_sample_reruns_only_what_depends_on_it(pipedag_tmp_config: ConfigContext) -> None:
    """A different sample reruns the sampled stage and below, while raw stays cache-valid."""
    build_flow({"sample_every": 100}).run()
    result = build_flow({"sample_every": 50}).run()
    assert_cache_valid(result, "raw.load_raw")
    assert_ran(result, "sampled.sample", "features.customer_features", "features.segment_report")


def test_report_task_is_plain_python() -> None:
    """Outside a flow a task is an ordinary function, testable on a hand-made frame."""
    features = pd.DataFrame({"customer_id": [1, 2], "segment": ["a", "a"], "revenue": [10.0, 30.0]})
    report = segment_report(features).obj
    assert report.revenue_per_customer.tolist() == [20.0]

