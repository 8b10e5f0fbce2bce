"""Compiled float kernels for marking a run of closes at once (see `Ledger.mark_run`).

During a run without fills, equity is `other + quantity x price` with everything but the price
fixed, so it moves with the close alone. `run_floats` gives each close's equity and drawdown as
the float nearest to the exact Decimal (what float() of it gives): the sums are carried in
double-double arithmetic (error-free products and sums), which pins them down to about 1e-30,
and the few values that land that close to a rounding boundary (or on a power of two) are
taken from the Decimal itself. `scan` finds the closes that could hold the run's largest
drawdown or drawdown percent from plain float equity: every close within a wide margin of the
float maximum, a million times the error a double can make here, so no candidate is lost; the
ledger decides among them in Decimal.

The kernels are compiled with numba on their first call (see `core.compiled`).
"""

from __future__ import annotations

import functools
import math
from decimal import Context, Decimal
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled

__all__ = ["best_ticks", "run_floats", "run_marks", "scan"]

_MARGIN: Final = 1e-9  # relative to the largest amount involved; a double errs by about 1e-16
_SPLIT: Final = 2.0**27 + 1.0  # Dekker's splitter for doubles
_DOUBLE_DOUBLE_ERROR: Final = 2.0**-98  # a generous bound on the sums below, relative
_WIDE: Final = Context(prec=80)
_NO_TICKS: Final = np.empty(0, dtype=np.int64)


def best_ticks(ticks: npt.NDArray[np.int64], sign: int) -> npt.NDArray[np.int64]:
    """Return the tick of the best close so far at each close, for a position of `sign`."""
    if len(ticks) == 0:
        return _NO_TICKS
    best: npt.NDArray[np.int64] = _best_kernel(ticks, sign)
    return best


def run_marks(
    other: Decimal,
    quantity: Decimal,
    price_step: Decimal,
    peak: Decimal,
    ticks: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return float(equity) and float(drawdown) at each close of a run marked without fills.

    Equity is `other` (cash and any other holdings) + `quantity` x the close, the close being
    `ticks[k]` x `price_step`; `peak` is the peak equity before the run. The ledger's marks of
    a run, and a journal reader's for a run it journaled by reference, are both this.
    """
    n = len(ticks)
    if quantity == 0:  # every close leaves the equity where it is
        return np.full(n, float(other)), np.full(n, float(max(peak, other) - other))
    best = best_ticks(ticks, 1 if quantity > 0 else -1)
    return run_floats(other, quantity * price_step, peak, ticks, best)


def run_floats(
    other: Decimal,
    step: Decimal,
    peak: Decimal,
    ticks: npt.NDArray[np.int64],
    best: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return float(equity) and float(peak so far - equity) at each close of a marked run.

    Equity is other + step x tick; `best[k]` is the tick of the best close up to k and `peak`
    the peak before the run. Below that peak the drawdown is (peak - other) - step x tick;
    once the run has a higher close, step x (best - tick). Rounding keeps order, so comparing
    the exactly rounded equity with the old peak's float decides which applies, except where
    the two floats are equal: there, as for any value the floats cannot settle, Decimal does.
    """

    def exact(tick: np.int64) -> Decimal:
        return other + step * int(tick)

    equity, unsettled, drawdown, undecided = _run_kernel(
        _double_double(other),
        _double_double(step),
        _double_double(_WIDE.subtract(peak, other)),
        float(peak),
        ticks,
        best,
    )
    for k in np.flatnonzero(unsettled):
        equity[k] = float(exact(ticks[k]))
    for k in np.flatnonzero(undecided):
        drawdown[k] = float(max(peak, exact(best[k])) - exact(ticks[k]))
    return equity, drawdown


def scan(
    ticks: npt.NDArray[np.int64],
    sign: int,
    other: Decimal,
    step: Decimal,
    records: tuple[Decimal, Decimal, Decimal],
) -> tuple[int, npt.NDArray[np.int64], list[int], list[int], bool]:
    """Return what marking a run of closes needs, in one compiled pass over them.

    `sign` is the position's (0 when flat), equity is `other + step x tick` and `records` the
    peak, largest drawdown and largest drawdown % before the run. Returns the lowest tick and,
    for a held position, the best tick so far at each close, the closes that may set a new
    largest drawdown and drawdown %, and whether the run may set a new peak. A list is empty
    when no close can beat its record. Each holds the first close of every distinct (best,
    close) pair that qualifies, in order, so ties resolve as marking one by one does: the
    earliest wins.
    """
    if sign == 0:
        return int(_lowest(ticks)), _NO_TICKS, [], [], False
    peak, deepest, pct = records
    low, best, drawdowns, percents, new_peak = _scan_kernel(
        ticks, sign, float(other), float(step), float(peak), float(deepest), float(pct), _MARGIN
    )
    return (
        int(low),
        best,
        _first_of_each(drawdowns, ticks, best),
        _first_of_each(percents, ticks, best),
        bool(new_peak),
    )


@compiled
def _scan_kernel(
    ticks: npt.NDArray[np.int64],
    sign: int,
    other: float,
    step: float,
    peak: float,
    deepest_before: float,
    pct_before: float,
    relative_margin: float,
) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], bool]:
    n = ticks.shape[0]
    equity = np.empty(n)  # rises as equity: other + step x tick, as plain floats
    for k in range(n):
        equity[k] = other + step * ticks[k]
    deepest, percents, new_peak = _shortlist_kernel(
        equity, peak, deepest_before, pct_before, relative_margin
    )
    return _lowest(ticks), _best_kernel(ticks, sign), deepest, percents, new_peak


@compiled
def _best_kernel(ticks: npt.NDArray[np.int64], sign: int) -> npt.NDArray[np.int64]:
    best = np.empty(ticks.shape[0], dtype=np.int64)
    top = ticks[0] * sign
    for k in range(ticks.shape[0]):
        top = max(top, ticks[k] * sign)
        best[k] = top * sign
    return best


@compiled
def _lowest(ticks: npt.NDArray[np.int64]) -> int:
    low = int(ticks[0])
    for k in range(1, ticks.shape[0]):
        low = min(low, int(ticks[k]))
    return low


@functools.lru_cache(maxsize=16)  # cash and position stay the same from run to run between fills
def _double_double(value: Decimal) -> tuple[float, float]:
    high = float(value)
    return high, float(_WIDE.subtract(value, Decimal(high)))


@compiled
def _run_kernel(
    other: tuple[float, float],
    step: tuple[float, float],
    above: tuple[float, float],
    peak: float,
    ticks: npt.NDArray[np.int64],
    best: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.bool_]
]:
    """Equity and drawdown floats of a run; `above` is the old peak minus `other`."""
    n = ticks.shape[0]
    equity, equity_doubtful = np.empty(n), np.zeros(n, dtype=np.bool_)
    drawdown, drawdown_doubtful = np.empty(n), np.zeros(n, dtype=np.bool_)
    top, top_doubtful = -math.inf, False
    for k in range(n):
        t = float(ticks[k])
        equity[k], equity_doubtful[k] = _rounded_sum(other[0], other[1], step[0], step[1], t)
        if equity[k] > top:
            top, top_doubtful = equity[k], equity_doubtful[k]
        if top > peak:  # the run's best close is the peak: step x (best - tick)
            gap = float(best[k] - ticks[k])
            drawdown[k], drawdown_doubtful[k] = _rounded_sum(0.0, 0.0, step[0], step[1], gap)
        else:  # the old peak: (peak - other) - step x tick
            drawdown[k], drawdown_doubtful[k] = _rounded_sum(
                above[0], above[1], -step[0], -step[1], t
            )
        # equal floats (or an unsettled equity) leave the choice of peak to Decimal
        drawdown_doubtful[k] |= top == peak or top_doubtful or equity_doubtful[k]
    return equity, equity_doubtful, drawdown, drawdown_doubtful


@compiled
def _rounded_sum(
    o_hi: float, o_lo: float, c_hi: float, c_lo: float, t: float
) -> tuple[float, bool]:
    """Return (o_hi + o_lo) + (c_hi + c_lo) x t rounded to a double, and whether unsettled."""
    scaled = _SPLIT * c_hi  # Dekker's split of c_hi and of t into two 26-bit halves
    a_hi = scaled - (scaled - c_hi)
    a_lo = c_hi - a_hi
    scaled = _SPLIT * t
    t_hi = scaled - (scaled - t)
    t_lo = t - t_hi
    product = c_hi * t  # Dekker: product + product_error == c_hi * t exactly
    product_error = ((a_hi * t_hi - product) + a_hi * t_lo + a_lo * t_hi) + a_lo * t_lo
    total = o_hi + product  # Knuth's TwoSum: total + sum_error == o_hi + product exactly
    virtual = total - o_hi
    sum_error = (o_hi - (total - virtual)) + (product - virtual)
    tail = sum_error + product_error + o_lo + c_lo * t
    value = total + tail
    residual = (total - value) + tail  # what `value` leaves out of the double-double sum
    bound = _DOUBLE_DOUBLE_ERROR * (abs(o_hi) + abs(product))
    half_ulp = (np.nextafter(abs(value), math.inf) - abs(value)) / 2.0
    mantissa, _ = math.frexp(value)
    return value, not (abs(residual) + bound < half_ulp) or abs(mantissa) == 0.5


@compiled
def _shortlist_kernel(
    equity: npt.NDArray[np.float64],
    peak: float,
    deepest_before: float,
    pct_before: float,
    relative_margin: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], bool]:
    n = equity.shape[0]
    drawdown = np.empty(n)
    peaks = np.empty(n)
    top, highest, largest_equity = peak, -math.inf, abs(peak)
    for k in range(n):
        top = max(top, equity[k])
        highest = max(highest, equity[k])
        peaks[k] = top
        drawdown[k] = top - equity[k]
        largest_equity = max(largest_equity, abs(equity[k]))
    margin = relative_margin * (largest_equity + abs(peak))
    deepest = np.flatnonzero(drawdown >= max(drawdown.max(), deepest_before) - margin)
    # drawdown % where the peak is safely positive; near zero, Decimal decides
    lowest = math.inf
    largest_drawdown = 0.0
    best_pct = -math.inf
    for k in range(n):
        largest_drawdown = max(largest_drawdown, abs(drawdown[k]))
        if peaks[k] > margin:
            lowest = min(lowest, peaks[k])
            best_pct = max(best_pct, drawdown[k] / peaks[k] * 100.0)
    pct_margin = 200.0 * margin * (1.0 / lowest + largest_drawdown / lowest**2)
    threshold = max(best_pct, pct_before) - pct_margin
    chosen = np.zeros(n, dtype=np.bool_)
    for k in range(n):
        if peaks[k] <= margin or drawdown[k] / peaks[k] * 100.0 >= threshold:
            chosen[k] = True
    return deepest, np.flatnonzero(chosen), highest >= peak - margin


def _first_of_each(
    index: npt.NDArray[np.int64], ticks: npt.NDArray[np.int64], best: npt.NDArray[np.int64]
) -> list[int]:
    if index.size <= 1:
        return [int(i) for i in index]
    first: dict[tuple[int, int], int] = {}
    for i in index.tolist():
        first.setdefault((int(best[i]), int(ticks[i])), i)
    return list(first.values())
