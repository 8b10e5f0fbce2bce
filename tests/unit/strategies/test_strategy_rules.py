"""Each strategy's rule against an oracle written here from TA-Lib's indicator arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from talib._ta_lib import MA_Type

from peak_trade.core.strategy_params import (
    BollingerBandsParams,
    MACDParams,
    MACrossoverParams,
    MeanReversionParams,
    MomentumParams,
    RsiReversionParams,
    TrendFollowingParams,
)
from peak_trade.strategies.bollinger_bands import BollingerBandsStrategy
from peak_trade.strategies.ma_crossover import MACrossoverStrategy
from peak_trade.strategies.macd import MACDStrategy
from peak_trade.strategies.mean_reversion import MeanReversionStrategy
from peak_trade.strategies.momentum import MomentumStrategy
from peak_trade.strategies.rsi_reversion import RsiReversionStrategy
from peak_trade.strategies.trend_following import TrendFollowingStrategy
from peak_trade.testing.builders import ohlc_frame, random_walk_ohlc

N = 6_000


@pytest.fixture(scope="module")
def market() -> dict[str, np.ndarray]:
    return random_walk_ohlc(N, seed=21, volatility=0.003)


def _frame(market: dict[str, np.ndarray]) -> pd.DataFrame:
    return ohlc_frame(market)


def _cross_state(gap: np.ndarray) -> np.ndarray:
    """Long from a cross above zero until a cross below zero."""
    state, out = 0, np.zeros(len(gap), dtype=int)
    for i in range(1, len(gap)):
        if not (math.isnan(gap[i]) or math.isnan(gap[i - 1])):
            if gap[i] > 0 >= gap[i - 1]:
                state = 1
            elif gap[i] < 0 <= gap[i - 1]:
                state = 0
        out[i] = state
    return out


def _levels_state(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    state, out = 0, np.zeros(len(enter), dtype=int)
    for i in range(len(enter)):
        if state == 0 and enter[i]:
            state = 1
        elif state == 1 and leave[i]:
            state = 0
        out[i] = state
    return out


def test_ma_crossover_sine_wave_gives_one_entry_and_exit_per_cross() -> None:
    # Arrange: a sine wave whose SMAs cross many times.
    t = np.arange(3_000)
    close = 100.0 + 10.0 * np.sin(2 * np.pi * t / 250)
    fast, slow = talib.SMA(close, 10), talib.SMA(close, 40)
    gap = fast - slow
    defined = ~np.isnan(gap[:-1]) & ~np.isnan(gap[1:])
    ups = np.flatnonzero(defined & (gap[1:] > 0) & (gap[:-1] <= 0)) + 1
    downs = np.flatnonzero(defined & (gap[1:] < 0) & (gap[:-1] >= 0)) + 1
    strategy = MACrossoverStrategy(MACrossoverParams(fast_window=10, slow_window=40))
    # Act
    targets = strategy.generate_signals(pd.DataFrame({"close": close})).to_numpy()
    # Assert: every up-cross is an entry on that bar, every later down-cross an exit.
    entries = np.flatnonzero(np.diff(targets) == 1) + 1
    exits = np.flatnonzero(np.diff(targets) == -1) + 1
    assert len(ups) >= 10
    np.testing.assert_array_equal(entries, ups)
    np.testing.assert_array_equal(exits, downs[downs > ups[0]])
    assert set(np.unique(targets)) == {0, 1}


def test_ma_crossover_matches_oracle(market: dict[str, np.ndarray]) -> None:
    close = market["close"]
    expected = _cross_state(talib.SMA(close, 20) - talib.SMA(close, 50))
    got = MACrossoverStrategy(MACrossoverParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)


def test_macd_matches_oracle(market: dict[str, np.ndarray]) -> None:
    _, _, histogram = talib.MACD(market["close"], 12, 26, 9)
    got = MACDStrategy(MACDParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), _cross_state(histogram))
    assert got.diff().abs().sum() > 20


def test_momentum_matches_oracle(market: dict[str, np.ndarray]) -> None:
    change = talib.ROCR(market["close"], 20) - 1.0
    with np.errstate(invalid="ignore"):
        expected = _levels_state(change > 0.02, change < -0.01)
    got = MomentumStrategy(MomentumParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert got.diff().abs().sum() > 4


def test_mean_reversion_matches_oracle(market: dict[str, np.ndarray]) -> None:
    close = market["close"]
    z = (close - talib.SMA(close, 20)) / talib.STDDEV(close, 20, 1.0)
    with np.errstate(invalid="ignore"):
        expected = _levels_state(z < -2.0, z > 0.0)
    got = MeanReversionStrategy(MeanReversionParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert got.diff().abs().sum() > 20


def test_bollinger_bands_matches_oracle(market: dict[str, np.ndarray]) -> None:
    close = market["close"]
    upper, _, lower = talib.BBANDS(close, 20, 2.0, 2.0, MA_Type.SMA)
    with np.errstate(invalid="ignore"):
        expected = _levels_state(close <= lower * 0.998, close >= lower + 0.7 * (upper - lower))
    params = BollingerBandsParams(entry_threshold=0.998, exit_threshold=0.7)
    got = BollingerBandsStrategy(params).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert got.diff().abs().sum() >= 2


def test_bollinger_at_the_band_is_mean_reversion_at_minus_two_sigma(
    market: dict[str, np.ndarray],
) -> None:
    frame = _frame(market)
    bands = BollingerBandsStrategy(BollingerBandsParams(entry_threshold=1.0, exit_threshold=0.5))
    zscore = MeanReversionStrategy(MeanReversionParams(entry_threshold=-2.0, exit_threshold=0.0))
    pd.testing.assert_series_equal(bands.generate_signals(frame), zscore.generate_signals(frame))


def test_rsi_reversion_matches_oracle(market: dict[str, np.ndarray]) -> None:
    rsi = talib.RSI(market["close"], 14)
    state, expected = 0, np.zeros(N, dtype=int)
    for i, value in enumerate(rsi):
        if not math.isnan(value):
            long_entry, short_entry = value < 30, value > 70
            if state == 1 and value >= 50:
                state = -1 if short_entry else 0
            elif state == -1 and value <= 50:
                state = 1 if long_entry else 0
            elif state == 0:
                state = 1 if long_entry else -1 if short_entry else 0
        expected[i] = state
    got = RsiReversionStrategy(RsiReversionParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert {-1, 1} <= set(np.unique(expected))


def test_rsi_reversion_trend_filter_blocks_longs_below_the_trend(
    market: dict[str, np.ndarray],
) -> None:
    close = market["close"]
    trend = talib.SMA(close, 20)
    params = RsiReversionParams(use_trend_filter=True, lower=45.0, upper=55.0, trend_ma_window=20)
    got = RsiReversionStrategy(params).generate_signals(_frame(market)).to_numpy()
    entries = np.flatnonzero((got[1:] == 1) & (got[:-1] != 1)) + 1
    short_entries = np.flatnonzero((got[1:] == -1) & (got[:-1] != -1)) + 1
    assert entries.size > 0
    assert short_entries.size > 0
    assert (close[entries] > trend[entries]).all()
    assert (close[short_entries] < trend[short_entries]).all()


def test_trend_following_matches_oracle(market: dict[str, np.ndarray]) -> None:
    h, lo, c = market["high"], market["low"], market["close"]
    adx, plus, minus = (
        talib.ADX(h, lo, c, 14),
        talib.PLUS_DI(h, lo, c, 14),
        talib.MINUS_DI(h, lo, c, 14),
    )
    sma = talib.SMA(c, 50)
    with np.errstate(invalid="ignore"):
        leave = (adx < 20) | (minus > plus)
        enter = (adx > 25) & (plus > minus) & (c > sma)
    state, expected = 0, np.zeros(N, dtype=int)
    for i in range(N):
        if not (math.isnan(adx[i]) or math.isnan(sma[i])):
            state = 0 if leave[i] else 1 if enter[i] else state
        expected[i] = state
    got = TrendFollowingStrategy(TrendFollowingParams()).generate_signals(_frame(market))
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert got.diff().abs().sum() > 10
