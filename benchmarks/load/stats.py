"""Small statistics: percentiles, summaries, the call-rate search, growth of a series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by linear interpolation between closest ranks
    (numpy's default method); NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0-100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    def as_dict(self, digits: int = 3) -> dict[str, Any]:
        return {k: (round(v, digits) if isinstance(v, float) else v)
                for k, v in asdict(self).items()}


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(len(values), sum(values) / len(values), percentile(values, 50),
                   percentile(values, 90), percentile(values, 99), max(values))


def ratio(value: float, baseline: float) -> float:
    """value / baseline; NaN when the baseline is 0 or unknown."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline


# -------------------------------------------------------------------------- the rate search


@dataclass(frozen=True, slots=True)
class Step:
    """One tried rate and whether it held (few enough failures, rate reached)."""

    rate: float
    passed: bool


@dataclass(frozen=True)
class RateSearch:
    """Which call rate to try next: climb a ladder until a rate fails, then bisect between
    the highest rate that held and the lowest that failed, until they are within
    `resolution` (relative) of each other or `max_steps` rates have been tried.

    Pure: the history of steps in, the next rate (or None: done) out."""

    ladder: tuple[float, ...]
    resolution: float = 0.1
    max_steps: int = 12

    def next_rate(self, history: Sequence[Step]) -> float | None:
        if len(history) >= self.max_steps:
            return None
        passed = [s.rate for s in history if s.passed]
        failed = [s.rate for s in history if not s.passed]
        best = max(passed, default=0.0)
        worst = min((r for r in failed if r > best), default=math.inf)
        if math.isinf(worst):
            climbing = [r for r in self.ladder if r > best]
            return climbing[0] if climbing else None
        low = best if best > 0 else worst / 2
        if best > 0 and (worst - best) <= self.resolution * best:
            return None
        if best == 0 and low < self.ladder[0] * self.resolution:
            return None
        return round((low + worst) / 2 if best > 0 else low)

    def highest_passed(self, history: Sequence[Step]) -> float:
        return max((s.rate for s in history if s.passed), default=0.0)


def step_passed(successful: int, failed: int, achieved: float, target: float, *,
                max_failed: float = 0.005, min_rate: float = 0.95) -> bool:
    """A step holds with fewer than `max_failed` of its calls failed and the target rate
    reached to within `min_rate`."""
    total = successful + failed
    if total == 0:
        return False
    return failed / total < max_failed and achieved >= min_rate * target


# ------------------------------------------------------------------------------- growth


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (NaN with fewer than two distinct xs)."""
    n = len(xs)
    if n != len(ys):
        raise ValueError("xs and ys differ in length")
    if n < 2:
        return math.nan
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
