"""Compiled trend and breakout rules (ma_crossover, macd, momentum_1h, trend_following,
breakout): for each, a step kernel for one bar and a column kernel that runs the same step over
a column of bars without leaving compiled code.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.strategies.kernels.oscillators import (
    ADX_MINUS_DI,
    ADX_PLUS_DI,
    DONCHIAN_LOWER,
    DONCHIAN_UPPER,
    MACD_HISTOGRAM,
    adx_push,
    atr_push,
    donchian_push,
    macd_push,
)
from peak_trade.strategies.kernels.windows import (
    roc_push,
    sma_push,
)

__all__ = [
    "MA_CROSS_STATE",
    "breakout_columns",
    "breakout_step",
    "long_or_flat",
    "ma_cross_columns",
    "ma_cross_step",
    "macd_columns",
    "macd_step",
    "momentum_columns",
    "momentum_step",
    "trend_following_columns",
    "trend_following_step",
]

Floats = npt.NDArray[np.float64]

# ma_crossover state: fast minus slow on the previous bar (NaN before the first), the target.
MA_CROSS_STATE: Final = 2


# The trend_following rule: adx_threshold, exit_threshold, 1.0 with the SMA filter.
_ADX_THRESHOLD, _ADX_EXIT, _MA_FILTER = 0, 1, 2


# The breakout rule: 1.0 where longs and where shorts are allowed, 1.0 with the ATR filter,
# the ATR multiplier, stop-loss, take-profit and trailing-stop fractions (NaN where unset),
# 1.0 to leave on the opposite breakout. Its memory: the target, the entry price, the
# extreme (highest high while long, lowest low while short).
_MAY_LONG, _MAY_SHORT, _ATR_FILTER, _ATR_MULTIPLIER, _STOP_LOSS, _TAKE_PROFIT = range(6)


_TRAILING_STOP, _OPPOSITE_EXIT = 6, 7


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
    plus, minus = adx[ADX_PLUS_DI], adx[ADX_MINUS_DI]
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


@compiled
def macd_step(
    state: Floats, fast: Floats, slow: Floats, signal: Floats, cross: Floats, close: float
) -> int:
    """Feed a close; a histogram cross above zero sets the target long, below zero flat.

    `cross` holds the previous histogram (NaN before the first) and the target.
    """
    macd_push(state, fast, slow, signal, close)
    gap = state[MACD_HISTOGRAM]
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


@compiled
def momentum_step(state: Floats, rule: Floats, held: Floats, close: float) -> int:
    """Feed a close; long once the rate of change rises above rule[0], flat below rule[1].

    `held[0]` keeps the target.
    """
    change = roc_push(state, close)
    if math.isnan(change):
        return int(held[0])
    return long_or_flat(held, change > rule[0], change < rule[1])


@compiled
def long_or_flat(held: Floats, enter: bool, leave: bool) -> int:
    """Move a long-or-flat target (`held[0]`): flat goes long on `enter`, long goes flat on
    `leave`; return it. The rule of the strategies that only ever hold long or nothing."""
    target = int(held[0])
    if target == 0 and enter:
        target = 1
    elif target == 1 and leave:
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
    high_level, low_level = upper[DONCHIAN_UPPER], lower[DONCHIAN_LOWER]  # of the previous bars
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
