"""Incremental indicators: O(1) amortised work per value, NaN until warmed up.

Each one matches TA-Lib's definition (seeding included) to a relative 1e-9; the parity tests in
tests/unit/strategies/test_indicators_talib_parity.py hold them to it. Running sums are rebuilt
exactly from their window every `kernels.REFRESH` updates (the rolling variance every
`kernels.VARIANCE_REFRESH`) so rounding cannot drift over long runs. The arithmetic is in the
compiled kernels of `strategies.kernels`; these classes hold their state and name their values.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.strategies import kernels

__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "MACD",
    "RSI",
    "SMA",
    "BollingerBands",
    "DonchianChannel",
    "RateOfChange",
    "RollingStd",
    "TrueRange",
    "ZScore",
]

NAN: Final = math.nan


def _check_period(period: int, minimum: int = 1) -> None:
    if period < minimum:
        raise ValueError(f"period must be >= {minimum}, was {period}")


class SMA:
    """Simple moving average over the last `period` values (compiled: `kernels.sma_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int) -> None:
        _check_period(period)
        self.period = period
        self.state = kernels.sma_state(period)

    @property
    def value(self) -> float:
        """Return the latest average, NaN until `period` values were seen."""
        return float(self.state[kernels.SMA_VALUE])

    def update(self, x: float) -> float:
        """Add a value and return the average, NaN until `period` values were seen."""
        return kernels.sma_push(self.state, x)


class RollingStd:
    """Population standard deviation (TA-Lib STDDEV, nbdev 1) and mean over `period` values
    (compiled: `kernels.std_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int) -> None:
        _check_period(period, 2)
        self.period = period
        self.state = kernels.std_state(period)

    @property
    def mean(self) -> float:
        """Return the mean of the window, NaN until it is full."""
        return float(self.state[kernels.STD_MEAN])

    @property
    def value(self) -> float:
        """Return the latest standard deviation, NaN until the window is full."""
        return float(self.state[kernels.STD_VALUE])

    def update(self, x: float) -> float:
        """Add a value and return the standard deviation, NaN until warmed up."""
        return kernels.std_push(self.state, x)


class EMA:
    """Exponential average with k = 2 / (period + 1), seeded with the SMA of the first values
    (compiled: `kernels.ema_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int) -> None:
        _check_period(period)
        self.period = period
        self.state = kernels.ema_state(period)

    @property
    def value(self) -> float:
        """Return the latest average, NaN until seeded."""
        return float(self.state[kernels.EMA_VALUE])

    def update(self, x: float) -> float:
        """Add a value and return the average, NaN until `period` values were seen."""
        return kernels.ema_push(self.state, x)

    def seed_with(self, average: float) -> None:
        """Start from `average` instead of waiting for `period` values."""
        kernels.ema_seed_with(self.state, average)


class MACD:
    """MACD line, signal line and histogram as TA-Lib computes them (compiled:
    `kernels.macd_push`).

    TA-Lib seeds the fast EMA late, with the SMA of the `fast` values that end where the slow
    EMA's seed ends, so both lines start on the same bar; this class does the same.
    """

    __slots__ = ("fast", "signal_ema", "slow", "state")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        _check_period(fast, 2)
        if fast >= slow:
            raise ValueError(f"fast must be < slow, was fast={fast}, slow={slow}")
        self.fast = EMA(fast)
        self.slow = EMA(slow)
        self.signal_ema = EMA(signal)
        self.state = kernels.macd_state(fast)

    @property
    def value(self) -> float:
        """Return the latest MACD line, NaN until warm."""
        return float(self.state[kernels.MACD_VALUE])

    @property
    def signal(self) -> float:
        """Return the latest signal line, NaN until warm."""
        return float(self.state[kernels.MACD_SIGNAL])

    @property
    def histogram(self) -> float:
        """Return the latest MACD line minus the signal line, NaN until warm."""
        return float(self.state[kernels.MACD_HISTOGRAM])

    def update(self, x: float) -> float:
        """Add a close and return the MACD line (NaN until the slow EMA is seeded)."""
        return kernels.macd_push(
            self.state, self.fast.state, self.slow.state, self.signal_ema.state, x
        )


class RSI:
    """Relative strength index; Wilder smoothing as TA-Lib, or plain rolling means
    (compiled: `kernels.rsi_push`)."""

    __slots__ = ("gains", "losses", "period", "state")

    def __init__(self, period: int = 14, wilder: bool = True) -> None:
        _check_period(period, 2)
        self.period = period
        self.state = kernels.rsi_state(wilder)
        self.gains = kernels.sma_state(period)  # the rolling means without Wilder smoothing
        self.losses = kernels.sma_state(period)

    @property
    def value(self) -> float:
        """Return the latest RSI, NaN until warm."""
        return float(self.state[kernels.RSI_VALUE])

    def update(self, x: float) -> float:
        """Add a close and return the RSI in [0, 100], NaN for the first `period` closes."""
        return kernels.rsi_push(self.state, self.gains, self.losses, x)


class TrueRange:
    """True range: the bar's range extended to the previous close (NaN on the first bar;
    compiled: `kernels.true_range`)."""

    __slots__ = ("_close", "value")

    def __init__(self) -> None:
        self._close = NAN
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add a bar and return its true range."""
        previous, self._close = self._close, close
        if math.isnan(previous):
            return NAN
        self.value = kernels.true_range(high, low, previous)
        return self.value


class ATR:
    """Average true range with Wilder smoothing, seeded with the mean of the first ranges
    (compiled: `kernels.atr_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int = 14) -> None:
        _check_period(period, 2)
        self.period = period
        self.state = kernels.atr_state(period)

    @property
    def value(self) -> float:
        """Return the latest ATR, NaN until warm."""
        return float(self.state[kernels.ATR_VALUE])

    def update(self, high: float, low: float, close: float) -> float:
        """Add a bar and return the ATR, NaN for the first `period` bars."""
        return kernels.atr_push(self.state, high, low, close)


class ADX:
    """Directional movement: +DI, -DI and ADX exactly as TA-Lib seeds and smooths them
    (compiled: `kernels.adx_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int = 14) -> None:
        _check_period(period, 2)
        self.period = period
        self.state = kernels.adx_state(period)

    @property
    def plus_di(self) -> float:
        """Return the latest +DI, NaN until warm."""
        return float(self.state[kernels.ADX_PLUS_DI])

    @property
    def minus_di(self) -> float:
        """Return the latest -DI, NaN until warm."""
        return float(self.state[kernels.ADX_MINUS_DI])

    @property
    def value(self) -> float:
        """Return the latest ADX, NaN until warm."""
        return float(self.state[kernels.ADX_VALUE])

    def update(self, high: float, low: float, close: float) -> float:
        """Add a bar; update `plus_di` and `minus_di` and return the ADX (NaN until warm)."""
        return kernels.adx_push(self.state, high, low, close)


class BollingerBands:
    """SMA middle band with bands `deviations` population standard deviations away
    (compiled: `kernels.bands_push`)."""

    __slots__ = ("_std", "bands", "deviations")

    def __init__(self, period: int = 20, deviations: float = 2.0) -> None:
        self._std = RollingStd(period)
        self.deviations = deviations
        self.bands = np.full(kernels.BANDS, NAN)

    @property
    def std_state(self) -> npt.NDArray[np.float64]:
        """Return the state array of the deviation behind the bands (for compiled rules)."""
        return self._std.state

    @property
    def upper(self) -> float:
        """Return the upper band, NaN until warm."""
        return float(self.bands[kernels.BANDS_UPPER])

    @property
    def middle(self) -> float:
        """Return the middle band, NaN until warm."""
        return float(self.bands[kernels.BANDS_MIDDLE])

    @property
    def lower(self) -> float:
        """Return the lower band, NaN until warm."""
        return float(self.bands[kernels.BANDS_LOWER])

    def update(self, x: float) -> float:
        """Add a close and return the middle band (NaN until warm)."""
        return kernels.bands_push(self._std.state, self.bands, self.deviations, x)


class ZScore:
    """Distance of the value from its rolling mean in rolling (population) standard deviations
    (compiled: `kernels.zscore_push`)."""

    __slots__ = ("_std", "value")

    def __init__(self, period: int = 20) -> None:
        self._std = RollingStd(period)
        self.value = NAN

    @property
    def std_state(self) -> npt.NDArray[np.float64]:
        """Return the state array of the deviation behind the z-score (for compiled rules)."""
        return self._std.state

    def update(self, x: float) -> float:
        """Add a value and return its z-score; NaN until warm or when the window is flat."""
        self.value = kernels.zscore_push(self._std.state, x)
        return self.value


class DonchianChannel:
    """Highest high and lowest low of the last `period` bars (current bar included;
    compiled: `kernels.donchian_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int = 20) -> None:
        _check_period(period)
        self.period = period
        self.state = kernels.donchian_state(period)

    @property
    def upper(self) -> float:
        """Return the highest high of the window, NaN until `period` bars were seen."""
        return float(self.state[kernels.DONCHIAN_UPPER])

    @property
    def lower(self) -> float:
        """Return the lowest low of the window, NaN until `period` bars were seen."""
        return float(self.state[kernels.DONCHIAN_LOWER])

    def update(self, high: float, low: float) -> float:
        """Add a bar and return the upper level (NaN until `period` bars were seen)."""
        return kernels.donchian_push(self.state, high, low)


class RateOfChange:
    """Fractional change over `period` values: x / x[period ago] - 1 (TA-Lib ROCR - 1;
    compiled: `kernels.roc_push`)."""

    __slots__ = ("period", "state")

    def __init__(self, period: int = 20) -> None:
        _check_period(period)
        self.period = period
        self.state = kernels.roc_state(period)

    @property
    def value(self) -> float:
        """Return the latest change, NaN for the first `period` values."""
        return float(self.state[kernels.ROC_VALUE])

    def update(self, x: float) -> float:
        """Add a value and return the change, NaN for the first `period` values."""
        return kernels.roc_push(self.state, x)
