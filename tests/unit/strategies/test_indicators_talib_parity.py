"""Every incremental indicator against TA-Lib, the field's reference implementation.

Series are 12,000 bars of a BTC-like random walk, so each comparison covers at least 10,000
bars past warm-up. The tolerance is a relative 1e-9; for the z-score, which crosses zero, the
error is measured in its own unit (one standard deviation), i.e. relative to max(1, |z|).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib
from talib._ta_lib import MA_Type

from peak_trade.strategies import indicators as ind
from peak_trade.testing.builders import random_walk_ohlc

BARS = 12_000
RTOL = 1e-9


@pytest.fixture(scope="module", params=[(1, 0.001), (2, 0.004)], ids=["calm", "volatile"])
def ohlc(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    seed, volatility = request.param
    return random_walk_ohlc(BARS, seed=seed, volatility=volatility)


def _stream(values: Callable[[int], float | tuple[float, ...]], count: int) -> np.ndarray:
    return np.array([values(i) for i in range(count)], dtype=float)


def _assert_matches(ours: np.ndarray, reference: np.ndarray, scale_floor: float = 0.0) -> None:
    defined = ~np.isnan(reference)
    assert defined.sum() >= 10_000, "the comparison must cover at least 10,000 bars"
    assert not np.isnan(ours[defined]).any(), "ours is NaN where TA-Lib has a value"
    scale = np.maximum(np.abs(reference[defined]), scale_floor)
    error = np.abs(ours[defined] - reference[defined]) / scale
    assert error.max() <= RTOL, f"max relative error {error.max():.3e} at {np.argmax(error)}"


def _first_defined_matches(ours: np.ndarray, reference: np.ndarray) -> None:
    assert np.argmax(~np.isnan(ours)) == np.argmax(~np.isnan(reference))


def test_sma_matches_talib(ohlc: dict[str, np.ndarray]) -> None:
    sma = ind.SMA(20)
    ours = np.array([sma.update(x) for x in ohlc["close"]])
    reference = talib.SMA(ohlc["close"], 20)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_ema_matches_talib(ohlc: dict[str, np.ndarray]) -> None:
    ema = ind.EMA(30)
    ours = np.array([ema.update(x) for x in ohlc["close"]])
    reference = talib.EMA(ohlc["close"], 30)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_wilder_rsi_matches_talib(ohlc: dict[str, np.ndarray]) -> None:
    rsi = ind.RSI(14)
    ours = np.array([rsi.update(x) for x in ohlc["close"]])
    reference = talib.RSI(ohlc["close"], 14)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_atr_matches_talib(ohlc: dict[str, np.ndarray]) -> None:
    atr = ind.ATR(14)
    h, lo, c = ohlc["high"], ohlc["low"], ohlc["close"]
    ours = _stream(lambda i: atr.update(h[i], lo[i], c[i]), BARS)
    reference = talib.ATR(h, lo, c, 14)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_adx_and_directional_indicators_match_talib(ohlc: dict[str, np.ndarray]) -> None:
    adx = ind.ADX(14)
    h, lo, c = ohlc["high"], ohlc["low"], ohlc["close"]
    rows = _stream(lambda i: (adx.update(h[i], lo[i], c[i]), adx.plus_di, adx.minus_di), BARS)
    references = (
        talib.ADX(h, lo, c, 14),
        talib.PLUS_DI(h, lo, c, 14),
        talib.MINUS_DI(h, lo, c, 14),
    )
    for column, reference in enumerate(references):
        _first_defined_matches(rows[:, column], reference)
        _assert_matches(rows[:, column], reference)


def test_macd_and_signal_match_talib(ohlc: dict[str, np.ndarray]) -> None:
    macd = ind.MACD(12, 26, 9)
    rows = _stream(lambda i: (macd.update(ohlc["close"][i]), macd.signal, macd.histogram), BARS)
    line, signal, histogram = talib.MACD(ohlc["close"], 12, 26, 9)
    # TA-Lib hides the MACD line until the signal exists; ours starts at the slow EMA's seed.
    assert np.argmax(~np.isnan(rows[:, 0])) == 25
    _first_defined_matches(rows[:, 1], signal)
    _assert_matches(rows[:, 0], line)
    _assert_matches(rows[:, 1], signal)
    # The histogram crosses zero every few bars; its error is measured against its typical size.
    _assert_matches(rows[:, 2], histogram, scale_floor=float(np.nanmedian(np.abs(histogram))))


def test_bollinger_bands_match_talib(ohlc: dict[str, np.ndarray]) -> None:
    bands = ind.BollingerBands(20, 2.0)
    rows = _stream(lambda i: (bands.update(ohlc["close"][i]), bands.upper, bands.lower), BARS)
    upper, middle, lower = talib.BBANDS(ohlc["close"], 20, 2.0, 2.0, MA_Type.SMA)
    for column, reference in enumerate((middle, upper, lower)):
        _first_defined_matches(rows[:, column], reference)
        _assert_matches(rows[:, column], reference)


def test_rolling_std_matches_talib_stddev(ohlc: dict[str, np.ndarray]) -> None:
    std = ind.RollingStd(20)
    ours = np.array([std.update(x) for x in ohlc["close"]])
    reference = talib.STDDEV(ohlc["close"], 20, 1.0)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_zscore_matches_talib_sma_and_stddev(ohlc: dict[str, np.ndarray]) -> None:
    z = ind.ZScore(20)
    close = ohlc["close"]
    ours = np.array([z.update(x) for x in close])
    reference = (close - talib.SMA(close, 20)) / talib.STDDEV(close, 20, 1.0)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference, scale_floor=1.0)


def test_donchian_channel_matches_talib_max_and_min(ohlc: dict[str, np.ndarray]) -> None:
    channel = ind.DonchianChannel(20)
    h, lo = ohlc["high"], ohlc["low"]
    rows = _stream(lambda i: (channel.update(h[i], lo[i]), channel.lower), BARS)
    _first_defined_matches(rows[:, 0], talib.MAX(h, 20))
    _assert_matches(rows[:, 0], talib.MAX(h, 20))
    _assert_matches(rows[:, 1], talib.MIN(lo, 20))


def test_rate_of_change_matches_talib_rocr(ohlc: dict[str, np.ndarray]) -> None:
    roc = ind.RateOfChange(20)
    ours = np.array([roc.update(x) for x in ohlc["close"]]) + 1.0
    reference = talib.ROCR(ohlc["close"], 20)
    _first_defined_matches(ours, reference)
    _assert_matches(ours, reference)


def test_long_series_do_not_drift_from_talib() -> None:
    # Arrange: 200,000 bars, far past the running sums' exact rebuild interval.
    close = random_walk_ohlc(200_000, seed=9)["close"]
    sma, std = ind.SMA(50), ind.RollingStd(50)
    # Act
    ours = np.array([(sma.update(x), std.update(x)) for x in close])
    # Assert
    _assert_matches(ours[:, 0], talib.SMA(close, 50))
    _assert_matches(ours[:, 1], talib.STDDEV(close, 50, 1.0))
