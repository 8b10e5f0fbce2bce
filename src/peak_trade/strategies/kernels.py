"""Compiled cores of indicators and strategies: one implementation for a bar and for a column.

Each rule is a kernel over a small state array. The Python classes (`indicators.SMA`,
`MACrossoverStrategy`) keep their state in such an array and call the kernel for one value;
a backtest calls the column kernel, which runs the very same kernel row by row without
leaving compiled code. Kernels that call each other live in this one file (see
`core.compiled`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled

__all__ = [
    "MA_CROSS_STATE",
    "REFRESH",
    "exact_sum",
    "ma_cross_columns",
    "ma_cross_step",
    "sma_push",
    "sma_state",
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
        diff = fast_value - slow_value
        previous = cross[0]
        cross[0] = diff
        if not math.isnan(previous):
            if diff > 0.0 >= previous:
                cross[1] = 1.0
            elif diff < 0.0 <= previous:
                cross[1] = 0.0
    return int(cross[1])


@compiled
def ma_cross_columns(
    fast: Floats, slow: Floats, cross: Floats, prices: Floats
) -> npt.NDArray[np.int64]:
    """Run `ma_cross_step` over a column of prices; return the target after each."""
    targets = np.empty(prices.shape[0], dtype=np.int64)
    for k in range(prices.shape[0]):
        targets[k] = ma_cross_step(fast, slow, cross, prices[k])
    return targets
