"""Percentiles, summaries, the call-rate search and the growth slope."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.load.stats import (
    RateSearch,
    Step,
    percentile,
    ratio,
    slope,
    step_passed,
    summarize,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=200), st.floats(min_value=0, max_value=100))
def test_percentile_matches_numpy_linear(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_percentile_of_known_values() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 25) == 2.0
    assert percentile([1.0, 2.0], 50) == 1.5


def test_percentile_refuses_q_outside_range_and_is_nan_when_empty() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    assert math.isnan(percentile([], 50))


def test_summary() -> None:
    summary = summarize([float(v) for v in range(1, 101)])
    assert summary.count == 100
    assert summary.mean == pytest.approx(50.5)
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.max == 100
    assert summary.as_dict(1)["p99"] == 99.0
    assert summarize([]).count == 0 and math.isnan(summarize([]).p50)


def run_search(search: RateSearch, capacity: float) -> list[float]:
    """The rates tried against a system that holds every rate up to `capacity`."""
    history: list[Step] = []
    while (rate := search.next_rate(history)) is not None:
        history.append(Step(rate, rate <= capacity))
    return [step.rate for step in history]


def test_search_climbs_the_ladder_then_bisects() -> None:
    search = RateSearch((100, 200, 400, 800, 1600), resolution=0.1, max_steps=20)
    tried = run_search(search, capacity=500)
    assert tried[:4] == [100, 200, 400, 800]
    assert tried[4:] == [600, 500, 550]  # 500 holds, 550 fails: within 10 % of 500
    history = [Step(r, r <= 500) for r in tried]
    assert search.highest_passed(history) == 500


def test_search_stops_at_the_top_of_the_ladder_when_everything_holds() -> None:
    search = RateSearch((100, 200, 400), max_steps=20)
    assert run_search(search, capacity=10_000) == [100, 200, 400]


def test_search_goes_below_the_ladder_when_its_first_rate_fails() -> None:
    search = RateSearch((100, 200), resolution=0.1, max_steps=20)
    tried = run_search(search, capacity=30)
    assert tried[:3] == [100, 50, 25]
    assert max(r for r in tried if r <= 30) >= 25


def test_search_gives_up_after_max_steps() -> None:
    search = RateSearch((100, 200, 400, 800), resolution=0.001, max_steps=5)
    assert len(run_search(search, capacity=333)) == 5


def test_step_passes_on_few_failures_and_the_rate_reached() -> None:
    assert step_passed(1000, 5, achieved=1000, target=1000)  # 5 of 1005: 0.4975 %
    assert not step_passed(995, 5, achieved=1000, target=1000)  # 5 of 1000: 0.5 %
    assert not step_passed(1000, 0, achieved=900, target=1000)
    assert step_passed(1000, 0, achieved=960, target=1000)
    assert not step_passed(0, 0, achieved=0, target=100)


def test_slope_and_ratio() -> None:
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 1, 2], [4, 4, 4]) == 0
    assert math.isnan(slope([1], [1]))
    assert math.isnan(slope([2, 2], [1, 3]))
    assert ratio(3, 2) == 1.5
    assert math.isnan(ratio(1, 0))
