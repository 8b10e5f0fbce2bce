"""Performance statistics against small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.portfolio.stats import PerformanceStats, RunningSums


def _stats(
    equity: list[float], in_market: list[bool] | None = None, bars_per_year: float = 4.0
) -> PerformanceStats:
    stats = PerformanceStats(start_equity=100.0, bars_per_year=bars_per_year)
    for i, value in enumerate(equity):
        stats.add_bar(value, in_market[i] if in_market else True)
    return stats


def test_returns_sharpe_and_sortino_by_hand() -> None:
    # returns: +10 %, -10 %, +10 %  (110, 99, 108.9 from 100)
    result = _stats([110.0, 99.0, 108.9]).result()
    assert result["total_return_pct"] == pytest.approx(8.9)
    mean = (0.1 - 0.1 + 0.1) / 3
    sample_std = math.sqrt(((0.1 - mean) ** 2 * 2 + (-0.1 - mean) ** 2) / 2)
    assert result["sharpe"] == pytest.approx(mean / sample_std * 2)  # sqrt(4 bars a year)
    downside = math.sqrt(0.01 / 3)
    assert result["sortino"] == pytest.approx(mean / downside * 2)


def test_cagr_scales_the_return_to_a_year() -> None:
    # 2 bars of a 4-bar year = half a year; 21 % in half a year is 46.41 % a year
    result = _stats([110.0, 121.0]).result()
    assert result["cagr_pct"] == pytest.approx((1.21**2 - 1) * 100)


def test_annualised_figures_need_thirty_days() -> None:
    # hourly bars: 719 closes span 29.96 days, 720 span 30; the same returns either way
    equity = [100.0 * (1.001 if k % 2 else 0.9995) ** k for k in range(1, 721)]
    short = _stats(equity[:719], bars_per_year=24 * 365).result()
    enough = _stats(equity, bars_per_year=24 * 365).result()
    assert short["span_days"] == pytest.approx(719 / 24)
    assert (short["cagr_pct"], short["sharpe"], short["sortino"]) == (None, None, None)
    assert short["total_return_pct"] == pytest.approx((equity[718] / 100 - 1) * 100)
    assert enough["span_days"] == pytest.approx(30.0)
    assert enough["cagr_pct"] == pytest.approx(((equity[-1] / 100) ** (365 / 30) - 1) * 100)
    assert enough["sharpe"] is not None
    assert enough["sortino"] is not None


def test_max_drawdown_and_its_duration() -> None:
    # peak 120 at bar 2, lowest 90 (25 % down), back above 120 at bar 6: 3 bars below
    result = _stats([110.0, 120.0, 100.0, 90.0, 115.0, 125.0, 124.0]).result()
    assert result["max_drawdown_pct"] == pytest.approx(25.0)
    assert result["max_drawdown_bars"] == 3


def test_exposure_counts_bars_in_the_market() -> None:
    result = _stats([100.0] * 4, in_market=[True, False, False, True]).result()
    assert result["exposure_pct"] == 50.0
    assert result["sharpe"] is None  # flat equity: no spread to divide by


def test_trade_statistics_from_round_trips() -> None:
    stats = _stats([101.0])
    for pnl in (30.0, -10.0, 20.0, -5.0):
        stats.add_round_trip(pnl)
    result = stats.result()
    assert result["trades"] == 4
    assert result["win_rate_pct"] == 50.0
    assert result["profit_factor"] == pytest.approx(50.0 / 15.0)
    assert result["average_trade"] == pytest.approx(8.75)


def test_no_trades_leaves_trade_statistics_undefined() -> None:
    result = _stats([]).result()
    assert (
        result["trades"],
        result["win_rate_pct"],
        result["profit_factor"],
        result["average_trade"],
    ) == (0, None, None, None)
    assert result["total_return_pct"] == 0.0
    assert result["cagr_pct"] is None


def test_start_equity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="start_equity must be > 0, was 0"):
        PerformanceStats(start_equity=0.0, bars_per_year=1.0)


def _reference(equity: list[float], start: float) -> RunningSums:
    """The statistics' running sums, folded one close at a time in plain Python."""
    previous, mean, m2, downside = start, 0.0, 0.0, 0.0
    peak, below, longest, deepest = start, 0, 0, 0.0
    for count, value in enumerate(equity, start=1):
        change = value / previous - 1.0
        previous = value
        delta = change - mean
        mean += delta / count
        m2 += delta * (change - mean)
        loss = min(change, 0.0)
        downside += loss * loss  # a correctly rounded square; `** 2` goes through libm's pow
        if value >= peak:
            peak, below = value, 0
        else:
            below += 1
            longest = max(longest, below)
            deepest = max(deepest, (peak - value) / peak * 100)
    return RunningSums(previous, len(equity), mean, m2, downside, peak, below, longest, deepest)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(1.0, 1e7, allow_nan=False), max_size=60),
    st.integers(1, 61),
)
def test_compiled_sums_equal_the_plain_python_fold_bit_for_bit(
    equity: list[float], chunk: int
) -> None:
    stats = PerformanceStats(start_equity=10_000.0, bars_per_year=525_600)

    for start in range(0, len(equity), chunk):
        stats.add_bars(np.array(equity[start : start + chunk]), in_market=start == 0)

    assert stats.sums == _reference(equity, 10_000.0)
    assert stats.bars == len(equity)
    assert stats.bars_in_market == min(chunk, len(equity))
