"""Compiled kernels of oscillators and ranges: RSI, MACD, true range, ATR, ADX with +DI and -DI,
the Donchian channel.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.strategies.kernels.windows import (
    EMA_HEADER,
    EMA_VALUE,
    EPSILON,
    SMA_HEADER,
    ema_push,
    ema_seed_with,
    exact_sum,
    sma_push,
)

__all__ = [
    "ADX_MINUS_DI",
    "ADX_PLUS_DI",
    "ADX_VALUE",
    "ATR_VALUE",
    "DONCHIAN_LOWER",
    "DONCHIAN_UPPER",
    "MACD_HISTOGRAM",
    "MACD_SIGNAL",
    "MACD_STATE",
    "MACD_VALUE",
    "RSI_STATE",
    "RSI_VALUE",
    "adx_push",
    "adx_state",
    "atr_push",
    "atr_state",
    "donchian_push",
    "donchian_state",
    "macd_push",
    "macd_state",
    "rsi_push",
    "rsi_state",
    "true_range",
]

Floats = npt.NDArray[np.float64]

# RSI state: the previous value (NaN before the first), changes seen, the average gain and loss
# (Wilder's; their sums while seeding), the RSI (NaN until warm), 1.0 for Wilder smoothing
# (else plain rolling means, kept in two SMA states beside this one).
_PREVIOUS, _CHANGES, _GAIN, _LOSS, _RSI, _WILDER = 0, 1, 2, 3, 4, 5


RSI_STATE: Final = 6


RSI_VALUE: Final = _RSI


# ADX state: the previous high, low and close, bars with a true range, the smoothed +DM, -DM
# and true range, the sum of the first DX values, +DI, -DI, the ADX, the period.
_A_HIGH, _A_LOW, _A_CLOSE, _A_COUNT, _A_PLUS_DM, _A_MINUS_DM, _A_TR, _A_DX_SUM = range(8)


_A_PLUS_DI, _A_MINUS_DI, _A_VALUE, _A_PERIOD = 8, 9, 10, 11


ADX_PLUS_DI: Final = _A_PLUS_DI


ADX_MINUS_DI: Final = _A_MINUS_DI


ADX_VALUE: Final = _A_VALUE


# MACD state: values seen, the MACD line, the signal line, the histogram (NaN until warm),
# then the last `fast` values, which seed the fast EMA late (as TA-Lib does).
_M_COUNT, _M_VALUE, _M_SIGNAL, _M_HISTOGRAM = 0, 1, 2, 3


MACD_STATE: Final = 4


MACD_VALUE: Final = _M_VALUE


MACD_SIGNAL: Final = _M_SIGNAL


MACD_HISTOGRAM: Final = _M_HISTOGRAM


# Donchian channel state: bars seen, the upper and lower level (NaN until warm), the period,
# then the start and length of two monotonic queues (candidate highs, candidate lows), then
# the queues as rings of period + 1 slots: the highs' bar numbers and values, the lows'.
_D_COUNT, _D_UPPER, _D_LOWER, _D_PERIOD, _D_HIGH_START, _D_HIGHS, _D_LOW_START, _D_LOWS = range(8)


_DONCHIAN_HEADER: Final = 8


DONCHIAN_UPPER: Final = _D_UPPER


DONCHIAN_LOWER: Final = _D_LOWER


# ATR state: the previous close, bars with a true range, their sum while seeding, the ATR
# (NaN until warm), the period.
_T_CLOSE, _T_COUNT, _T_SUM, _T_VALUE, _T_PERIOD = range(5)


ATR_VALUE: Final = _T_VALUE


def rsi_state(wilder: bool) -> Floats:
    """Return the state array of an RSI, before any value."""
    state = np.zeros(RSI_STATE)
    state[_PREVIOUS] = math.nan
    state[_RSI] = math.nan
    state[_WILDER] = 1.0 if wilder else 0.0
    return state


@compiled
def rsi_push(state: Floats, gains: Floats, losses: Floats, x: float) -> float:
    """Add a close; return the RSI in [0, 100], NaN for the first `period` closes.

    The period is that of the SMA states `gains` and `losses`, which hold the rolling means
    without Wilder smoothing (and are left alone with it). Wilder's averages are seeded with
    the mean of the first `period` changes, as TA-Lib does.
    """
    previous = state[_PREVIOUS]
    state[_PREVIOUS] = x
    if math.isnan(previous):
        return math.nan
    change = x - previous
    gain, loss = (change, 0.0) if change > 0.0 else (0.0, -change)
    state[_CHANGES] += 1
    if state[_WILDER] == 0.0:
        avg_gain, avg_loss = sma_push(gains, gain), sma_push(losses, loss)
        if not math.isnan(avg_gain):
            # Running sums of non-negative values can end a hair below zero; clamp them.
            state[_RSI] = _rsi(max(avg_gain, 0.0), max(avg_loss, 0.0))
        return float(state[_RSI])
    n = gains.shape[0] - SMA_HEADER
    count = state[_CHANGES]
    if count <= n:
        state[_GAIN] += gain
        state[_LOSS] += loss
        if count < n:
            return math.nan
        state[_GAIN] /= n
        state[_LOSS] /= n
    else:
        state[_GAIN] = (state[_GAIN] * (n - 1) + gain) / n
        state[_LOSS] = (state[_LOSS] * (n - 1) + loss) / n
    state[_RSI] = _rsi(state[_GAIN], state[_LOSS])
    return float(state[_RSI])


@compiled
def _rsi(avg_gain: float, avg_loss: float) -> float:
    total = avg_gain + avg_loss
    # The ratio first, as TA-Lib does: 100 * (g / (g + l)) cannot exceed 100 by rounding.
    return 100.0 * (avg_gain / total) if abs(total) >= EPSILON else 0.0


@compiled
def true_range(high: float, low: float, previous_close: float) -> float:
    """Return the bar's range extended to the previous close (NaN without one)."""
    if math.isnan(previous_close):
        return math.nan
    return max(high - low, abs(high - previous_close), abs(low - previous_close))


def adx_state(period: int) -> Floats:
    """Return the state array of an ADX over `period` bars, before any bar."""
    state = np.zeros(_A_PERIOD + 1)
    state[_A_HIGH] = state[_A_LOW] = state[_A_CLOSE] = math.nan
    state[_A_PLUS_DI] = state[_A_MINUS_DI] = state[_A_VALUE] = math.nan
    state[_A_PERIOD] = period
    return state


@compiled
def adx_push(state: Floats, high: float, low: float, close: float) -> float:
    """Add a bar; update +DI and -DI and return the ADX (NaN until warm), seeded and smoothed
    exactly as TA-Lib does."""
    previous_high, previous_low = state[_A_HIGH], state[_A_LOW]
    state[_A_HIGH], state[_A_LOW] = high, low
    tr = true_range(high, low, state[_A_CLOSE])
    state[_A_CLOSE] = close
    if math.isnan(tr):
        return math.nan
    up, down = high - previous_high, previous_low - low
    plus_dm = up if up > 0 and up > down else 0.0
    minus_dm = down if down > 0 and down > up else 0.0
    state[_A_COUNT] += 1
    count, n = state[_A_COUNT], state[_A_PERIOD]
    if count < n:
        state[_A_PLUS_DM] += plus_dm
        state[_A_MINUS_DM] += minus_dm
        state[_A_TR] += tr
        return math.nan
    state[_A_PLUS_DM] += plus_dm - state[_A_PLUS_DM] / n
    state[_A_MINUS_DM] += minus_dm - state[_A_MINUS_DM] / n
    state[_A_TR] += tr - state[_A_TR] / n
    dx = _directional_index(state)
    if count < 2 * n - 1:
        state[_A_DX_SUM] += 0.0 if math.isnan(dx) else dx
    elif count == 2 * n - 1:
        state[_A_VALUE] = (state[_A_DX_SUM] + (0.0 if math.isnan(dx) else dx)) / n
    elif not math.isnan(dx):
        state[_A_VALUE] = (state[_A_VALUE] * (n - 1) + dx) / n
    return float(state[_A_VALUE])


@compiled
def _directional_index(state: Floats) -> float:
    """Set +DI and -DI from the smoothed movements; return DX (NaN where undefined)."""
    tr = state[_A_TR]
    if abs(tr) < EPSILON:
        state[_A_PLUS_DI] = state[_A_MINUS_DI] = 0.0
        return math.nan
    plus = state[_A_PLUS_DI] = 100.0 * state[_A_PLUS_DM] / tr
    minus = state[_A_MINUS_DI] = 100.0 * state[_A_MINUS_DM] / tr
    total = plus + minus
    if abs(total) < EPSILON:
        return math.nan
    return float(100.0 * abs(plus - minus) / total)


def macd_state(fast: int) -> Floats:
    """Return the state array of a MACD whose fast EMA has period `fast`, before any value."""
    state = np.zeros(MACD_STATE + fast)
    state[_M_VALUE] = state[_M_SIGNAL] = state[_M_HISTOGRAM] = math.nan
    return state


@compiled
def macd_push(state: Floats, fast: Floats, slow: Floats, signal: Floats, x: float) -> float:
    """Add a close; return the MACD line (NaN until the slow EMA is seeded).

    `fast`, `slow` and `signal` are EMA states. The fast EMA is seeded late, with the mean of
    the `fast` closes that end where the slow EMA's seed ends, so both lines start on the same
    bar, as in TA-Lib.
    """
    count = int(state[_M_COUNT]) + 1
    state[_M_COUNT] = count
    slow_value = ema_push(slow, x)
    slow_n = slow.shape[0] - EMA_HEADER
    fast_n = fast.shape[0] - EMA_HEADER
    if count <= slow_n:
        state[MACD_STATE + (count - 1) % fast_n] = x
        if count < slow_n:
            return math.nan
        ema_seed_with(fast, exact_sum(state[MACD_STATE:]) / fast_n)
    else:
        ema_push(fast, x)
    value = fast[EMA_VALUE] - slow_value
    state[_M_VALUE] = value
    state[_M_SIGNAL] = ema_push(signal, value)
    state[_M_HISTOGRAM] = value - state[_M_SIGNAL]
    return float(value)


def donchian_state(period: int) -> Floats:
    """Return the state array of a Donchian channel over `period` bars, before any bar."""
    state = np.zeros(_DONCHIAN_HEADER + 4 * (period + 1))
    state[_D_UPPER] = state[_D_LOWER] = math.nan
    state[_D_PERIOD] = period
    return state


@compiled
def donchian_push(state: Floats, high: float, low: float) -> float:
    """Add a bar; return the highest high of the last `period` bars (current included), NaN
    until `period` bars were seen. The lowest low is kept beside it.

    Each level comes from a monotonic queue: a new high drops every earlier candidate at or
    below it, so the front of the queue is the window's extreme (O(1) amortised per bar).
    """
    i = int(state[_D_COUNT])
    state[_D_COUNT] = i + 1
    period = int(state[_D_PERIOD])
    size = period + 1
    base = _DONCHIAN_HEADER
    _queue_push(state, _D_HIGH_START, _D_HIGHS, base, base + size, size, i, high, 1.0)
    _queue_push(state, _D_LOW_START, _D_LOWS, base + 2 * size, base + 3 * size, size, i, low, -1.0)
    if i + 1 >= period:
        state[_D_UPPER] = state[base + size + int(state[_D_HIGH_START])]
        state[_D_LOWER] = state[base + 3 * size + int(state[_D_LOW_START])]
    return float(state[_D_UPPER])


@compiled
def _queue_push(
    state: Floats,
    start_at: int,
    length_at: int,
    numbers: int,
    values: int,
    size: int,
    i: int,
    x: float,
    sign: float,
) -> None:
    """Add bar `i`'s value `x` to a monotonic queue (sign 1: of highs, -1: of lows) held in
    rings of `size` slots at `numbers` and `values`; drop the front once it leaves the window
    of the last size - 1 bars."""
    start, length = int(state[start_at]), int(state[length_at])
    while length > 0 and sign * state[values + (start + length - 1) % size] <= sign * x:
        length -= 1
    slot = (start + length) % size
    state[numbers + slot] = i
    state[values + slot] = x
    length += 1
    if state[numbers + start] < i - (size - 1) + 1:
        start = (start + 1) % size
        length -= 1
    state[start_at], state[length_at] = start, length


def atr_state(period: int) -> Floats:
    """Return the state array of an ATR over `period` bars, before any bar."""
    state = np.zeros(_T_PERIOD + 1)
    state[_T_CLOSE] = state[_T_VALUE] = math.nan
    state[_T_PERIOD] = period
    return state


@compiled
def atr_push(state: Floats, high: float, low: float, close: float) -> float:
    """Add a bar; return the ATR with Wilder smoothing, seeded with the mean of the first
    `period` true ranges (NaN before)."""
    tr = true_range(high, low, state[_T_CLOSE])
    state[_T_CLOSE] = close
    if math.isnan(tr):
        return math.nan
    state[_T_COUNT] += 1
    count, n = state[_T_COUNT], state[_T_PERIOD]
    if count < n:
        state[_T_SUM] += tr
    elif count == n:
        state[_T_VALUE] = (state[_T_SUM] + tr) / n
    else:
        state[_T_VALUE] = (state[_T_VALUE] * (n - 1) + tr) / n
    return float(state[_T_VALUE])
