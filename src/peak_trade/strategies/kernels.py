"""Compiled cores of indicators and strategies: one implementation for a bar and for a column.

Each indicator and each strategy rule is a kernel over small state arrays (`*_state` builds
them). The Python classes (`indicators.SMA`, `indicators.RSI`, ..., and the strategies) keep
their state in such arrays and call the kernel for one value; a backtest calls a strategy's
column kernel (`*_columns`), which runs the very same step kernel row by row without leaving
compiled code. Kernels that call each other live in this one file (see `core.compiled`);
a change to it recompiles them all on their next use, a few seconds once.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled

__all__ = [
    "ADX_MINUS_DI",
    "ADX_PLUS_DI",
    "ADX_VALUE",
    "ATR_VALUE",
    "BANDS",
    "BREAKOUT_MEMORY",
    "DONCHIAN_LOWER",
    "DONCHIAN_UPPER",
    "EMA_VALUE",
    "MACD_HISTOGRAM",
    "MACD_SIGNAL",
    "MACD_STATE",
    "MACD_VALUE",
    "MA_CROSS_STATE",
    "REFRESH",
    "ROC_VALUE",
    "RSI_STATE",
    "RSI_VALUE",
    "STD_MEAN",
    "STD_VALUE",
    "VARIANCE_REFRESH",
    "ZSCORE_STATE",
    "adx_push",
    "adx_state",
    "atr_push",
    "atr_state",
    "bands_push",
    "bollinger_columns",
    "bollinger_step",
    "breakout_columns",
    "breakout_step",
    "donchian_push",
    "donchian_state",
    "ema_push",
    "ema_seed_with",
    "ema_state",
    "exact_sum",
    "ma_cross_columns",
    "ma_cross_step",
    "macd_columns",
    "macd_push",
    "macd_state",
    "macd_step",
    "mean_reversion_columns",
    "mean_reversion_step",
    "momentum_columns",
    "momentum_step",
    "percentile_push",
    "percentile_state",
    "roc_push",
    "roc_state",
    "rsi_push",
    "rsi_reversion_columns",
    "rsi_reversion_step",
    "rsi_state",
    "sma_push",
    "sma_state",
    "std_push",
    "std_state",
    "trend_following_columns",
    "trend_following_step",
    "true_range",
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
SMA_VALUE: Final = _VALUE
# The most partials an exact sum of doubles can need (one per bit of the exponent range).
_MAX_PARTIALS: Final = 2100
# ma_crossover state: fast minus slow on the previous bar (NaN before the first), the target.
MA_CROSS_STATE: Final = 2
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
# RSI state: the previous value (NaN before the first), changes seen, the average gain and loss
# (Wilder's; their sums while seeding), the RSI (NaN until warm), 1.0 for Wilder smoothing
# (else plain rolling means, kept in two SMA states beside this one).
_PREVIOUS, _CHANGES, _GAIN, _LOSS, _RSI, _WILDER = 0, 1, 2, 3, 4, 5
RSI_STATE: Final = 6
RSI_VALUE: Final = _RSI
_EPSILON: Final = 1e-14  # TA-Lib treats magnitudes below this as zero
# The rsi_reversion rule: lower, upper, exit_lower, exit_upper, 1.0 with the trend filter.
_LOWER_LEVEL, _UPPER_LEVEL, _EXIT_LOWER, _EXIT_UPPER, _TREND_FILTER = 0, 1, 2, 3, 4
# ADX state: the previous high, low and close, bars with a true range, the smoothed +DM, -DM
# and true range, the sum of the first DX values, +DI, -DI, the ADX, the period.
_A_HIGH, _A_LOW, _A_CLOSE, _A_COUNT, _A_PLUS_DM, _A_MINUS_DM, _A_TR, _A_DX_SUM = range(8)
_A_PLUS_DI, _A_MINUS_DI, _A_VALUE, _A_PERIOD = 8, 9, 10, 11
ADX_PLUS_DI: Final = _A_PLUS_DI
ADX_MINUS_DI: Final = _A_MINUS_DI
ADX_VALUE: Final = _A_VALUE
# The trend_following rule: adx_threshold, exit_threshold, 1.0 with the SMA filter.
_ADX_THRESHOLD, _ADX_EXIT, _MA_FILTER = 0, 1, 2
# EMA state: the average (NaN until seeded), values seen while seeding (the period once
# seeded), the smoothing factor 2 / (period + 1), then the seed values.
_E_VALUE, _E_HELD, _E_ALPHA = 0, 1, 2
_EMA_HEADER: Final = 3
EMA_VALUE: Final = _E_VALUE
# MACD state: values seen, the MACD line, the signal line, the histogram (NaN until warm),
# then the last `fast` values, which seed the fast EMA late (as TA-Lib does).
_M_COUNT, _M_VALUE, _M_SIGNAL, _M_HISTOGRAM = 0, 1, 2, 3
MACD_STATE: Final = 4
MACD_VALUE: Final = _M_VALUE
MACD_SIGNAL: Final = _M_SIGNAL
MACD_HISTOGRAM: Final = _M_HISTOGRAM
# Rate of change state: the change (NaN until warm), values seen, then the last period + 1.
_R_VALUE, _R_COUNT = 0, 1
_ROC_HEADER: Final = 2
ROC_VALUE: Final = _R_VALUE
# Rolling percentile state: values seen, then the window in arrival order (a ring), then the
# same values sorted.
_P_COUNT = 0
_PERCENTILE_HEADER: Final = 1
# The mean_reversion rule: entry and exit z-score, 1.0 with the volatility filter, the highest
# volatility percentile it lets trade at. Its memory: the target, the previous close.
_Z_ENTRY, _Z_EXIT, _VOL_FILTER, _VOL_PERCENTILE = 0, 1, 2, 3
ZSCORE_STATE: Final = 2  # the target, the previous close
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
# The breakout rule: 1.0 where longs and where shorts are allowed, 1.0 with the ATR filter,
# the ATR multiplier, stop-loss, take-profit and trailing-stop fractions (NaN where unset),
# 1.0 to leave on the opposite breakout. Its memory: the target, the entry price, the
# extreme (highest high while long, lowest low while short).
_MAY_LONG, _MAY_SHORT, _ATR_FILTER, _ATR_MULTIPLIER, _STOP_LOSS, _TAKE_PROFIT = range(6)
_TRAILING_STOP, _OPPOSITE_EXIT = 6, 7
BREAKOUT_MEMORY: Final = 3
# Bollinger bands: upper, middle, lower (NaN until warm).
BANDS: Final = 3
_UPPER, _MIDDLE, _LOWER = 0, 1, 2


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


@compiled
def ma_cross_step(fast: Floats, slow: Floats, cross: Floats, price: float) -> int:
    """Feed one price to both averages; a cross-up sets the target long, a cross-down flat."""
    fast_value = sma_push(fast, price)
    slow_value = sma_push(slow, price)
    if not math.isnan(slow_value):
        _cross_zero(cross, fast_value - slow_value)
    return int(cross[1])


@compiled
def _cross_zero(cross: Floats, value: float) -> None:
    """Record `value` in `cross` (its previous value, the target): a rise through zero from
    the bar before sets the target long, a fall through zero sets it flat."""
    previous = cross[0]
    cross[0] = value
    if not math.isnan(previous):
        if value > 0.0 >= previous:
            cross[1] = 1.0
        elif value < 0.0 <= previous:
            cross[1] = 0.0


@compiled
def ma_cross_columns(
    fast: Floats, slow: Floats, cross: Floats, prices: Floats
) -> npt.NDArray[np.int64]:
    """Run `ma_cross_step` over a column of prices; return the target after each."""
    targets = np.empty(prices.shape[0], dtype=np.int64)
    for k in range(prices.shape[0]):
        targets[k] = ma_cross_step(fast, slow, cross, prices[k])
    return targets


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


@compiled
def bollinger_step(std: Floats, bands: Floats, rule: Floats, held: Floats, close: float) -> int:
    """Feed a close; long at or below the lower band x entry, flat at the exit level.

    `rule` holds the deviations, the entry threshold and the exit threshold (the fraction of
    the way from the lower to the upper band); `held[0]` the target, updated here.
    """
    target = int(held[0])
    if math.isnan(bands_push(std, bands, rule[0], close)):
        return target
    lower, upper = bands[_LOWER], bands[_UPPER]
    if target == 0 and close <= lower * rule[1]:
        target = 1
    elif target == 1 and close >= lower + rule[2] * (upper - lower):
        target = 0
    held[0] = target
    return target


@compiled
def bollinger_columns(
    std: Floats, bands: Floats, rule: Floats, held: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `bollinger_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = bollinger_step(std, bands, rule, held, closes[k])
    return targets


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
    n = gains.shape[0] - _SMA_HEADER
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
    return 100.0 * (avg_gain / total) if abs(total) >= _EPSILON else 0.0


@compiled
def rsi_reversion_step(
    rsi: Floats, gains: Floats, losses: Floats, trend: Floats, rule: Floats, held: Floats, x: float
) -> int:
    """Feed a price; walk the flat/long/short machine of `rsi_reversion`.

    Long below the lower level, short above the upper, each left at its exit level (for the
    opposite side at once if it qualifies); with the trend filter (the SMA state `trend`), a
    long needs the price above the trend and a short below it. `held[0]` keeps the target.
    """
    target = int(held[0])
    value = rsi_push(rsi, gains, losses, x)
    filtered = rule[_TREND_FILTER] != 0.0
    level = sma_push(trend, x) if filtered else math.nan
    if math.isnan(value) or (filtered and math.isnan(level)):
        return target
    long_entry = value < rule[_LOWER_LEVEL] and (not filtered or x > level)
    short_entry = value > rule[_UPPER_LEVEL] and (not filtered or x < level)
    if target == 1 and value >= rule[_EXIT_LOWER]:
        target = -1 if short_entry else 0
    elif target == -1 and value <= rule[_EXIT_UPPER]:
        target = 1 if long_entry else 0
    elif target == 0:
        target = 1 if long_entry else -1 if short_entry else 0
    held[0] = target
    return target


@compiled
def rsi_reversion_columns(
    rsi: Floats,
    gains: Floats,
    losses: Floats,
    trend: Floats,
    rule: Floats,
    held: Floats,
    prices: Floats,
) -> npt.NDArray[np.int64]:
    """Run `rsi_reversion_step` over a column of prices; return the target after each."""
    targets = np.empty(prices.shape[0], dtype=np.int64)
    for k in range(prices.shape[0]):
        targets[k] = rsi_reversion_step(rsi, gains, losses, trend, rule, held, prices[k])
    return targets


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
    if abs(tr) < _EPSILON:
        state[_A_PLUS_DI] = state[_A_MINUS_DI] = 0.0
        return math.nan
    plus = state[_A_PLUS_DI] = 100.0 * state[_A_PLUS_DM] / tr
    minus = state[_A_MINUS_DI] = 100.0 * state[_A_MINUS_DM] / tr
    total = plus + minus
    if abs(total) < _EPSILON:
        return math.nan
    return float(100.0 * abs(plus - minus) / total)


@compiled
def trend_following_step(
    adx: Floats, trend: Floats, rule: Floats, held: Floats, high: float, low: float, close: float
) -> int:
    """Feed a bar; long while ADX is above its threshold with +DI leading (and the close above
    the SMA state `trend` with the filter), flat once ADX falls below the exit level or -DI
    leads; the exit wins when both hold. `held[0]` keeps the target."""
    target = int(held[0])
    value = adx_push(adx, high, low, close)
    filtered = rule[_MA_FILTER] != 0.0
    level = sma_push(trend, close) if filtered else math.nan
    if math.isnan(value) or (filtered and math.isnan(level)):
        return target
    plus, minus = adx[_A_PLUS_DI], adx[_A_MINUS_DI]
    if value < rule[_ADX_EXIT] or minus > plus:
        target = 0
    elif value > rule[_ADX_THRESHOLD] and plus > minus and (not filtered or close > level):
        target = 1
    held[0] = target
    return target


@compiled
def trend_following_columns(
    adx: Floats,
    trend: Floats,
    rule: Floats,
    held: Floats,
    high: Floats,
    low: Floats,
    close: Floats,
) -> npt.NDArray[np.int64]:
    """Run `trend_following_step` over columns of bars; return the target after each."""
    targets = np.empty(close.shape[0], dtype=np.int64)
    for k in range(close.shape[0]):
        targets[k] = trend_following_step(adx, trend, rule, held, high[k], low[k], close[k])
    return targets


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
    slow_n = slow.shape[0] - _EMA_HEADER
    fast_n = fast.shape[0] - _EMA_HEADER
    if count <= slow_n:
        state[MACD_STATE + (count - 1) % fast_n] = x
        if count < slow_n:
            return math.nan
        ema_seed_with(fast, exact_sum(state[MACD_STATE:]) / fast_n)
    else:
        ema_push(fast, x)
    value = fast[_E_VALUE] - slow_value
    state[_M_VALUE] = value
    state[_M_SIGNAL] = ema_push(signal, value)
    state[_M_HISTOGRAM] = value - state[_M_SIGNAL]
    return float(value)


@compiled
def macd_step(
    state: Floats, fast: Floats, slow: Floats, signal: Floats, cross: Floats, close: float
) -> int:
    """Feed a close; a histogram cross above zero sets the target long, below zero flat.

    `cross` holds the previous histogram (NaN before the first) and the target.
    """
    macd_push(state, fast, slow, signal, close)
    gap = state[_M_HISTOGRAM]
    if not math.isnan(gap):
        _cross_zero(cross, gap)
    return int(cross[1])


@compiled
def macd_columns(
    state: Floats, fast: Floats, slow: Floats, signal: Floats, cross: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `macd_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = macd_step(state, fast, slow, signal, cross, closes[k])
    return targets


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
def momentum_step(state: Floats, rule: Floats, held: Floats, close: float) -> int:
    """Feed a close; long once the rate of change rises above rule[0], flat below rule[1].

    `held[0]` keeps the target.
    """
    target = int(held[0])
    change = roc_push(state, close)
    if math.isnan(change):
        return target
    if target == 0 and change > rule[0]:
        target = 1
    elif target == 1 and change < rule[1]:
        target = 0
    held[0] = target
    return target


@compiled
def momentum_columns(
    state: Floats, rule: Floats, held: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `momentum_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = momentum_step(state, rule, held, closes[k])
    return targets


@compiled
def zscore_push(std: Floats, x: float) -> float:
    """Add a value to the deviation state `std`; return its distance from the rolling mean in
    deviations, NaN until warm or where the window is flat."""
    spread = std_push(std, x)
    if math.isnan(spread):
        return math.nan
    mean = std[_MEAN]
    return (x - mean) / spread if spread > _EPSILON * abs(mean) else math.nan


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


@compiled
def mean_reversion_step(
    z_std: Floats, vol_std: Floats, rank: Floats, rule: Floats, memory: Floats, close: float
) -> int:
    """Feed a close; long when the z-score falls below the entry level (and, with the filter,
    the volatility of returns ranks at or below its percentile), flat above the exit level.

    `z_std` and `vol_std` are deviation states (of closes, and of returns), `rank` a
    percentile state; `memory` holds the target and the previous close.
    """
    target = int(memory[0])
    z = zscore_push(z_std, close)
    previous = memory[1]
    memory[1] = close
    calm = True
    if rule[_VOL_FILTER] != 0.0:
        calm = False
        if not math.isnan(previous):
            vol = std_push(vol_std, close / previous - 1.0)
            if not math.isnan(vol):
                calm = percentile_push(rank, vol) <= rule[_VOL_PERCENTILE]
    if math.isnan(z):
        return target
    if target == 0 and z < rule[_Z_ENTRY] and calm:
        target = 1
    elif target == 1 and z > rule[_Z_EXIT]:
        target = 0
    memory[0] = target
    return target


@compiled
def mean_reversion_columns(
    z_std: Floats, vol_std: Floats, rank: Floats, rule: Floats, memory: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `mean_reversion_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = mean_reversion_step(z_std, vol_std, rank, rule, memory, closes[k])
    return targets


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


@compiled
def breakout_step(
    upper: Floats,
    lower: Floats,
    atr: Floats,
    atr_mean: Floats,
    rule: Floats,
    memory: Floats,
    price: float,
    high: float,
    low: float,
    close: float,
) -> int:
    """Feed a bar: check exits against the levels of the bars before it, then entries.

    Long above the previous high level, short below the previous low level (as `rule`
    allows, and with the ATR filter only while ATR >= multiplier x its mean). A position
    leaves on its stop-loss, take-profit or trailing stop (checked against the bar's low and
    high), or on the opposite breakout, which flips it where that side is allowed.
    """
    high_level, low_level = upper[_D_UPPER], lower[_D_LOWER]  # of the previous bars
    donchian_push(upper, high, high)
    donchian_push(lower, low, low)
    calm = _atr_allows(atr, atr_mean, rule, high, low, close)
    target = int(memory[0])
    if math.isnan(high_level) or math.isnan(low_level):
        return target
    if target == 1:
        _manage(memory, rule, 1.0, high, low, price, low_level)
    elif target == -1:
        _manage(memory, rule, -1.0, high, low, price, high_level)
    elif calm and rule[_MAY_LONG] != 0.0 and price > high_level:
        memory[0], memory[1], memory[2] = 1.0, price, high
    elif calm and rule[_MAY_SHORT] != 0.0 and price < low_level:
        memory[0], memory[1], memory[2] = -1.0, price, low
    return int(memory[0])


@compiled
def _manage(
    memory: Floats,
    rule: Floats,
    side: float,
    high: float,
    low: float,
    price: float,
    opposite_level: float,
) -> None:
    """Manage an open position (side 1 long, -1 short) on one bar."""
    entry, extreme = memory[1], memory[2]
    adverse, favourable = (low, high) if side > 0 else (high, low)
    stop, take, trail = rule[_STOP_LOSS], rule[_TAKE_PROFIT], rule[_TRAILING_STOP]
    if side > 0:
        stopped = (not math.isnan(stop) and adverse <= entry * (1 - stop)) or (
            not math.isnan(take) and favourable >= entry * (1 + take)
        )
        trailed = not math.isnan(trail) and adverse <= extreme * (1 - trail)
        memory[2] = max(extreme, high)
        crossed = price < opposite_level
    else:
        stopped = (not math.isnan(stop) and adverse >= entry * (1 + stop)) or (
            not math.isnan(take) and favourable <= entry * (1 - take)
        )
        trailed = not math.isnan(trail) and adverse >= extreme * (1 + trail)
        memory[2] = min(extreme, low)
        crossed = price > opposite_level
    if stopped or trailed:
        memory[0] = 0.0
    elif rule[_OPPOSITE_EXIT] != 0.0 and crossed:
        flip = rule[_MAY_SHORT] if side > 0 else rule[_MAY_LONG]
        if flip != 0.0:
            memory[0], memory[1], memory[2] = -side, price, (low if side > 0 else high)
        else:
            memory[0] = 0.0


@compiled
def _atr_allows(
    atr: Floats, atr_mean: Floats, rule: Floats, high: float, low: float, close: float
) -> bool:
    """Update the ATR and its mean; return whether the ATR filter lets an entry through."""
    value = atr_push(atr, high, low, close)
    mean = sma_push(atr_mean, value) if not math.isnan(value) else math.nan
    if rule[_ATR_FILTER] == 0.0:
        return True
    if math.isnan(value):
        return False
    multiplier = rule[_ATR_MULTIPLIER]
    return math.isnan(multiplier) or (not math.isnan(mean) and value >= multiplier * mean)


@compiled
def breakout_columns(
    upper: Floats,
    lower: Floats,
    atr: Floats,
    atr_mean: Floats,
    rule: Floats,
    memory: Floats,
    prices: Floats,
    high: Floats,
    low: Floats,
    close: Floats,
) -> npt.NDArray[np.int64]:
    """Run `breakout_step` over columns of bars; return the target after each."""
    targets = np.empty(close.shape[0], dtype=np.int64)
    for k in range(close.shape[0]):
        targets[k] = breakout_step(
            upper, lower, atr, atr_mean, rule, memory, prices[k], high[k], low[k], close[k]
        )
    return targets
