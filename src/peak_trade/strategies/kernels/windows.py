"""Compiled kernels of rolling-window indicators: exact sums, SMA, EMA, the rolling deviation
and the Bollinger bands and z-score built on it, the rolling percentile rank, the rate of change.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled

__all__ = [
    "BANDS",
    "BANDS_LOWER",
    "BANDS_MIDDLE",
    "BANDS_UPPER",
    "EMA_HEADER",
    "EMA_VALUE",
    "EPSILON",
    "REFRESH",
    "ROC_VALUE",
    "SMA_HEADER",
    "SMA_VALUE",
    "STD_MEAN",
    "STD_VALUE",
    "VARIANCE_REFRESH",
    "bands_push",
    "ema_push",
    "ema_seed_with",
    "ema_state",
    "exact_sum",
    "percentile_push",
    "percentile_state",
    "roc_push",
    "roc_state",
    "sma_push",
    "sma_state",
    "std_push",
    "std_state",
    "zscore_push",
]

Floats = npt.NDArray[np.float64]

# Running sums are rebuilt exactly from their window every REFRESH updates, so rounding cannot
# drift over long runs.
REFRESH: Final = 4096


# SMA state: the running sum, values held, updates so far, index of the oldest value, the
# average (NaN until the window is full), then the window itself.
_SUM, _HELD, _UPDATES, _OLDEST, _VALUE = 0, 1, 2, 3, 4


_SMA_HEADER: Final = 5
SMA_HEADER: Final = _SMA_HEADER


SMA_VALUE: Final = _VALUE


# The most partials an exact sum of doubles can need (one per bit of the exponent range).
_MAX_PARTIALS: Final = 2100


# Rolling standard deviation state: the sum of squared deviations (M2), updates since the
# window filled, index of the oldest value, values held, the mean, the deviation (NaN until
# the window is full), then the window itself.
_M2, _STD_UPDATES, _STD_OLDEST, _STD_HELD, _MEAN, _STD = 0, 1, 2, 3, 4, 5


_STD_HEADER: Final = 6


STD_MEAN: Final = _MEAN


STD_VALUE: Final = _STD


# The rolling variance update loses precision faster than a running sum (each step subtracts
# nearly equal squares), so its window is rebuilt exactly more often; and at once when the
# spread collapses (a jump leaving the window cancels large terms).
VARIANCE_REFRESH: Final = 128


_COLLAPSE: Final = 1e-3


EPSILON: Final = 1e-14  # TA-Lib treats magnitudes below this as zero


# EMA state: the average (NaN until seeded), values seen while seeding (the period once
# seeded), the smoothing factor 2 / (period + 1), then the seed values.
_E_VALUE, _E_HELD, _E_ALPHA = 0, 1, 2


_EMA_HEADER: Final = 3
EMA_HEADER: Final = _EMA_HEADER


EMA_VALUE: Final = _E_VALUE


# Rate of change state: the change (NaN until warm), values seen, then the last period + 1.
_R_VALUE, _R_COUNT = 0, 1


_ROC_HEADER: Final = 2


ROC_VALUE: Final = _R_VALUE


# Rolling percentile state: values seen, then the window in arrival order (a ring), then the
# same values sorted.
_P_COUNT = 0


_PERCENTILE_HEADER: Final = 1


# Bollinger bands: upper, middle, lower (NaN until warm).
BANDS: Final = 3


_UPPER, _MIDDLE, _LOWER = 0, 1, 2
BANDS_UPPER: Final = _UPPER
BANDS_MIDDLE: Final = _MIDDLE
BANDS_LOWER: Final = _LOWER


def sma_state(period: int) -> Floats:
    """Return the state array of an SMA over `period` values, before any value."""
    state = np.zeros(_SMA_HEADER + period)
    state[_VALUE] = math.nan
    return state


@compiled
def exact_sum(values: Floats) -> float:
    """Return the correctly rounded sum of `values`, exactly as math.fsum (Shewchuk's msum)."""
    partials = np.empty(_MAX_PARTIALS)
    return _round_partials(partials, _add_to_partials(values, partials))


@compiled
def _add_to_partials(values: Floats, partials: Floats) -> int:
    """Sum `values` into non-overlapping partials, smallest first; return how many."""
    n = 0
    for k in range(values.shape[0]):
        x = values[k]
        i = 0
        for j in range(n):
            y = partials[j]
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo != 0.0:
                partials[i] = lo
                i += 1
            x = hi
        n = i
        if x != 0.0:
            partials[n] = x
            n += 1
    return n


@compiled
def _round_partials(partials: Floats, n: int) -> float:
    """Return the partials' sum, rounded once (half to even across partials), as math.fsum."""
    hi = 0.0
    lo = 0.0
    if n > 0:
        n -= 1
        hi = partials[n]
        while n > 0:  # add from the top, until the sum becomes inexact
            x = hi
            n -= 1
            y = partials[n]
            hi = x + y
            lo = y - (hi - x)
            if lo != 0.0:
                break
        if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            if y == x - hi:
                hi = x
    return hi


@compiled
def sma_push(state: Floats, x: float) -> float:
    """Add a value to an SMA state; return the average, NaN until the window is full."""
    period = state.shape[0] - _SMA_HEADER
    held = int(state[_HELD])
    if held == period:
        oldest = int(state[_OLDEST])
        state[_SUM] -= state[_SMA_HEADER + oldest]
        state[_SMA_HEADER + oldest] = x
        state[_OLDEST] = (oldest + 1) % period
    else:
        state[_SMA_HEADER + held] = x
        held += 1
        state[_HELD] = held
    state[_SUM] += x
    state[_UPDATES] += 1
    if state[_UPDATES] % REFRESH == 0:
        state[_SUM] = exact_sum(state[_SMA_HEADER : _SMA_HEADER + held])
    if held == period:
        state[_VALUE] = state[_SUM] / period
    return float(state[_VALUE])


def std_state(period: int) -> Floats:
    """Return the state array of a rolling standard deviation over `period` values."""
    state = np.zeros(_STD_HEADER + period)
    state[_MEAN] = math.nan
    state[_STD] = math.nan
    return state


@compiled
def std_push(state: Floats, x: float) -> float:
    """Add a value; return the population standard deviation, NaN until the window is full.

    Welford's update over a sliding window (TA-Lib STDDEV with nbdev 1); the mean is kept in
    the state too.
    """
    n = state.shape[0] - _STD_HEADER
    held = int(state[_STD_HELD])
    if held < n:
        state[_STD_HEADER + held] = x
        state[_STD_HELD] = held + 1
        if held + 1 == n:
            _std_rebuild(state)
        return float(state[_STD])
    oldest = int(state[_STD_OLDEST])
    old = state[_STD_HEADER + oldest]
    state[_STD_HEADER + oldest] = x
    state[_STD_OLDEST] = (oldest + 1) % n
    mean, previous_m2 = state[_MEAN], state[_M2]
    new_mean = mean + (x - old) / n
    m2 = previous_m2 + (x - old) * (x - new_mean + old - mean)
    state[_MEAN] = new_mean
    state[_M2] = m2
    state[_STD_UPDATES] += 1
    if state[_STD_UPDATES] % VARIANCE_REFRESH == 0 or m2 < previous_m2 * _COLLAPSE:
        _std_rebuild(state)
        m2 = state[_M2]
    state[_STD] = math.sqrt(m2 / n) if m2 > 0.0 else 0.0
    return float(state[_STD])


@compiled
def _std_rebuild(state: Floats) -> None:
    """Work out the mean and M2 of the full window exactly (correctly rounded sums)."""
    window = state[_STD_HEADER:]
    n = window.shape[0]
    mean = exact_sum(window) / n
    squares = np.empty(n)
    for k in range(n):
        d = window[k] - mean
        squares[k] = d * d
    state[_MEAN] = mean
    state[_M2] = exact_sum(squares)
    state[_STD] = math.sqrt(state[_M2] / n)


@compiled
def bands_push(std: Floats, bands: Floats, deviations: float, x: float) -> float:
    """Add a close to Bollinger bands `deviations` deviations wide; return the middle band."""
    spread = std_push(std, x)
    if not math.isnan(spread):
        middle = std[_MEAN]
        bands[_MIDDLE] = middle
        bands[_UPPER] = middle + deviations * spread
        bands[_LOWER] = middle - deviations * spread
    return float(bands[_MIDDLE])


def ema_state(period: int) -> Floats:
    """Return the state array of an EMA over `period` values, before any value."""
    state = np.zeros(_EMA_HEADER + period)
    state[_E_VALUE] = math.nan
    state[_E_ALPHA] = 2.0 / (period + 1)
    return state


@compiled
def ema_push(state: Floats, x: float) -> float:
    """Add a value; return the average, NaN until `period` values seeded it with their mean."""
    n = state.shape[0] - _EMA_HEADER
    held = int(state[_E_HELD])
    if held >= n:
        state[_E_VALUE] += (x - state[_E_VALUE]) * state[_E_ALPHA]
    else:
        state[_EMA_HEADER + held] = x
        state[_E_HELD] = held + 1
        if held + 1 == n:
            state[_E_VALUE] = exact_sum(state[_EMA_HEADER:]) / n
    return float(state[_E_VALUE])


@compiled
def ema_seed_with(state: Floats, average: float) -> None:
    """Start the EMA from `average` instead of waiting for its seed values."""
    state[_E_VALUE] = average
    state[_E_HELD] = state.shape[0] - _EMA_HEADER


def roc_state(period: int) -> Floats:
    """Return the state array of a rate of change over `period` values, before any value."""
    state = np.zeros(_ROC_HEADER + period + 1)
    state[_R_VALUE] = math.nan
    return state


@compiled
def roc_push(state: Floats, x: float) -> float:
    """Add a value; return x / (the value `period` values ago) - 1, NaN until there is one."""
    size = state.shape[0] - _ROC_HEADER  # period + 1
    count = int(state[_R_COUNT])
    state[_ROC_HEADER + count % size] = x
    count += 1
    state[_R_COUNT] = count
    if count >= size:
        state[_R_VALUE] = x / state[_ROC_HEADER + count % size] - 1.0
    return float(state[_R_VALUE])


@compiled
def zscore_push(std: Floats, x: float) -> float:
    """Add a value to the deviation state `std`; return its distance from the rolling mean in
    deviations, NaN until warm or where the window is flat."""
    spread = std_push(std, x)
    if math.isnan(spread):
        return math.nan
    mean = std[_MEAN]
    return (x - mean) / spread if spread > EPSILON * abs(mean) else math.nan


def percentile_state(window: int) -> Floats:
    """Return the state array of a rolling percentile rank over `window` values."""
    return np.zeros(_PERCENTILE_HEADER + 2 * window)


@compiled
def percentile_push(state: Floats, x: float) -> float:
    """Add a value; return the share of the window at or below it, in percent."""
    window = (state.shape[0] - _PERCENTILE_HEADER) // 2
    ring = state[_PERCENTILE_HEADER : _PERCENTILE_HEADER + window]
    ordered = state[_PERCENTILE_HEADER + window :]
    count = int(state[_P_COUNT])
    held = min(count, window)
    slot = count % window
    if held == window:  # drop the oldest value from the sorted copy
        at = np.searchsorted(ordered[:held], ring[slot], side="right") - 1
        ordered[at : held - 1] = ordered[at + 1 : held].copy()
        held -= 1
    ring[slot] = x
    at = np.searchsorted(ordered[:held], x, side="right")
    ordered[at + 1 : held + 1] = ordered[at:held].copy()
    ordered[at] = x
    held += 1
    state[_P_COUNT] = count + 1
    return float(100.0 * np.searchsorted(ordered[:held], x, side="right") / held)
