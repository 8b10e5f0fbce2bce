"""Compiled strategy kernels: exact sums as math.fsum, and one rule for a bar and a column."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import (
    BollingerBandsParams,
    BreakoutParams,
    MACDParams,
    MACrossoverParams,
    MeanReversionParams,
    MomentumParams,
    RsiReversionParams,
    TrendFollowingParams,
)
from peak_trade.strategies import kernels
from peak_trade.strategies.base import Strategy
from peak_trade.strategies.bollinger_bands import BollingerBandsStrategy
from peak_trade.strategies.breakout import BreakoutStrategy
from peak_trade.strategies.indicators import SMA, RollingStd
from peak_trade.strategies.ma_crossover import MACrossoverStrategy
from peak_trade.strategies.macd import MACDStrategy
from peak_trade.strategies.mean_reversion import MeanReversionStrategy
from peak_trade.strategies.momentum import MomentumStrategy
from peak_trade.strategies.rsi_reversion import RsiReversionStrategy
from peak_trade.strategies.trend_following import TrendFollowingStrategy
from peak_trade.testing.builders import bars_from_closes, random_walk_ohlc

# (math.fsum raises on an intermediate overflow; prices are nowhere near it)
finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)


@settings(max_examples=500)
@given(st.lists(finite | st.sampled_from([1e16, 1.0, 1e-16, -1e16, 0.5, 2.0**-1074]), max_size=60))
def test_exact_sum_equals_math_fsum_to_the_bit(values: list[float]) -> None:
    expected = math.fsum(values)

    assert kernels.exact_sum(np.array(values, dtype=np.float64)) == expected


def test_exact_sum_rounds_half_even_across_partials_as_math_fsum() -> None:
    values = [1e-16, 1.0, 1e16]

    assert kernels.exact_sum(np.array(values)) == math.fsum(values) == 1.0000000000000002e16


def test_sma_rebuilds_its_sum_exactly_every_refresh_updates() -> None:
    sma = SMA(3)
    # values whose running sum drifts: the rebuilt sum must equal fsum of the window
    values = [0.1 * (i % 7) + 1e6 * (i % 2) for i in range(kernels.REFRESH)]

    last = [sma.update(v) for v in values][-1]

    assert last == math.fsum(values[-3:]) / 3


def test_rolling_std_rebuilds_its_window_exactly_every_refresh_updates() -> None:
    std = RollingStd(3)
    # a level far above the spread: the sliding update loses digits the rebuild restores
    values = [1e6 + 0.1 * (i % 7) for i in range(3 + kernels.VARIANCE_REFRESH)]

    last = [std.update(v) for v in values][-1]

    window = values[-3:]
    mean = math.fsum(window) / 3
    assert std.mean == mean
    assert last == math.sqrt(math.fsum((v - mean) * (v - mean) for v in window) / 3)


def _ma_crossover() -> Strategy[MACrossoverParams]:
    return MACrossoverStrategy(MACrossoverParams(fast_window=5, slow_window=17))


def _bollinger() -> Strategy[BollingerBandsParams]:
    return BollingerBandsStrategy(BollingerBandsParams(bb_period=12, entry_threshold=1.0))


def _rsi_wilder() -> Strategy[RsiReversionParams]:
    return RsiReversionStrategy(RsiReversionParams(rsi_window=6))


def _rsi_rolling_with_trend() -> Strategy[RsiReversionParams]:
    params = RsiReversionParams(
        rsi_window=5, use_wilder=False, use_trend_filter=True, trend_ma_window=30, price_col="high"
    )
    return RsiReversionStrategy(params)


def _trend_following() -> Strategy[TrendFollowingParams]:
    params = TrendFollowingParams(
        adx_period=5, adx_threshold=20.0, exit_threshold=15.0, ma_period=10
    )
    return TrendFollowingStrategy(params)


def _trend_following_unfiltered() -> Strategy[TrendFollowingParams]:
    return TrendFollowingStrategy(TrendFollowingParams(adx_period=4, use_ma_filter=False))


def _macd() -> Strategy[MACDParams]:
    return MACDStrategy(MACDParams(fast_ema=4, slow_ema=11, signal_ema=3))


def _momentum() -> Strategy[MomentumParams]:
    params = MomentumParams(lookback_period=7, entry_threshold=0.002, exit_threshold=-0.001)
    return MomentumStrategy(params)


def _mean_reversion() -> Strategy[MeanReversionParams]:
    return MeanReversionStrategy(MeanReversionParams(lookback=10, entry_threshold=-1.5))


def _mean_reversion_filtered() -> Strategy[MeanReversionParams]:
    params = MeanReversionParams(
        lookback=10,
        entry_threshold=-1.0,
        use_vol_filter=True,
        vol_window=5,
        vol_rank_window=20,
        max_vol_percentile=80.0,
    )
    return MeanReversionStrategy(params)


def _breakout_with_stops() -> Strategy[BreakoutParams]:
    params = BreakoutParams(
        lookback_breakout=8,
        lookback_low=11,
        stop_loss_pct=0.01,
        take_profit_pct=0.02,
        trailing_stop_pct=0.005,
        price_col="high",
    )
    return BreakoutStrategy(params)


def _breakout_atr_long_only() -> Strategy[BreakoutParams]:
    params = BreakoutParams(
        lookback_breakout=6,
        use_atr_filter=True,
        atr_lookback=4,
        atr_multiplier=0.9,
        risk_mode="long_only",
        exit_on_opposite_breakout=False,
        trailing_stop_pct=0.01,
    )
    return BreakoutStrategy(params)


@pytest.mark.parametrize(
    "make",
    [
        _ma_crossover,
        _bollinger,
        _rsi_wilder,
        _rsi_rolling_with_trend,
        _trend_following,
        _trend_following_unfiltered,
        _macd,
        _momentum,
        _mean_reversion,
        _mean_reversion_filtered,
        _breakout_with_stops,
        _breakout_atr_long_only,
    ],
)
@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.integers(1, 97))
def test_a_compiled_rule_on_columns_equals_bar_by_bar(
    make: Callable[[], Strategy[Any]], seed: int, chunk: int
) -> None:
    bars = bars_from_closes(random_walk_ohlc(400, seed=seed)["close"].tolist())
    by_bar, by_columns = make(), make()

    expected = [by_bar.on_bar(bar) for bar in bars]
    targets: list[int] = []
    for start in range(0, len(bars), chunk):
        part, error = by_columns.update_columns(BarColumns.from_bars(bars[start : start + chunk]))
        assert error is None
        targets.extend(part)

    assert targets == expected
    assert by_columns.target == by_bar.target
    assert 1 in expected  # the rule went long at least once
