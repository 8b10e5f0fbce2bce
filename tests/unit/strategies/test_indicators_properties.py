"""Hypothesis: incremental indicators agree with brute-force window computations."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.strategies import indicators as ind
from peak_trade.strategies.mean_reversion import RollingPercentile

prices = st.lists(
    st.floats(min_value=1.0, max_value=1e6, allow_nan=False), min_size=1, max_size=300
)
periods = st.integers(min_value=2, max_value=40)


def _close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


@given(values=prices, period=periods)
def test_sma_equals_mean_of_last_period_values(values: list[float], period: int) -> None:
    sma = ind.SMA(period)
    for i, x in enumerate(values):
        got = sma.update(x)
        if i + 1 < period:
            assert math.isnan(got)
        else:
            assert _close(got, float(np.mean(values[i + 1 - period : i + 1])), max(values))


@given(values=prices, period=periods)
def test_rolling_std_equals_population_std_of_window(values: list[float], period: int) -> None:
    std = ind.RollingStd(period)
    for i, x in enumerate(values):
        got = std.update(x)
        if i + 1 < period:
            assert math.isnan(got)
        else:
            assert _close(got, float(np.std(values[i + 1 - period : i + 1])), max(values))


@given(values=prices, period=periods)
def test_donchian_levels_equal_window_extremes(values: list[float], period: int) -> None:
    channel = ind.DonchianChannel(period)
    for i, x in enumerate(values):
        channel.update(x * 1.01, x * 0.99)
        if i + 1 >= period:
            window = values[i + 1 - period : i + 1]
            assert channel.upper == max(window) * 1.01
            assert channel.lower == min(window) * 0.99


@given(values=prices, period=periods)
def test_ema_follows_its_recurrence_after_an_sma_seed(values: list[float], period: int) -> None:
    ema = ind.EMA(period)
    expected = math.nan
    alpha = 2.0 / (period + 1)
    for i, x in enumerate(values):
        got = ema.update(x)
        if i + 1 == period:
            expected = float(np.mean(values[:period]))
        elif i + 1 > period:
            expected += (x - expected) * alpha
        assert (math.isnan(got) and math.isnan(expected)) or _close(got, expected, max(values))


@given(values=prices, period=periods)
def test_rsi_stays_within_0_and_100(values: list[float], period: int) -> None:
    for wilder in (True, False):
        rsi = ind.RSI(period, wilder=wilder)
        for x in values:
            got = rsi.update(x)
            assert math.isnan(got) or 0.0 <= got <= 100.0


@given(period=periods, level=st.floats(min_value=1.0, max_value=1e5))
def test_zscore_of_flat_series_is_undefined_not_infinite(period: int, level: float) -> None:
    z = ind.ZScore(period)
    results = [z.update(level) for _ in range(period + 5)]
    assert all(math.isnan(value) for value in results)


@given(
    values=st.lists(st.floats(min_value=-5, max_value=5), min_size=1, max_size=200),
    window=st.integers(min_value=1, max_value=50),
)
def test_rolling_percentile_equals_share_of_window_at_or_below(
    values: list[float], window: int
) -> None:
    rank = RollingPercentile(window)
    for i, x in enumerate(values):
        recent = values[max(0, i + 1 - window) : i + 1]
        expected = 100.0 * sum(v <= x for v in recent) / len(recent)
        assert rank.update(x) == expected


@settings(max_examples=50)
@given(values=prices)
def test_true_range_covers_the_bar_and_the_gap_to_the_previous_close(values: list[float]) -> None:
    tr = ind.TrueRange()
    previous = math.nan
    for x in values:
        high, low = x * 1.02, x * 0.98
        got = tr.update(high, low, x)
        if math.isnan(previous):
            assert math.isnan(got)
        else:
            assert got >= high - low
            assert got >= abs(high - previous)
            assert got >= abs(low - previous)
        previous = x
