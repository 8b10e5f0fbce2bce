"""Float shortlists for marking a run of closes at once (see `Ledger.mark_run`).

During a run without fills, equity is `other + quantity x price` with everything but the price
fixed, so it moves with the close alone. `equity_floats` gives each close's equity as the float
nearest to the exact Decimal (what float() of it gives). Floats then find the closes that could
hold the run's largest drawdown or drawdown percent; every close within a wide margin of the
float maximum is kept, and the ledger decides among them in Decimal. The margin is a million
times the error a double can make here, so no candidate is lost. The drawdown floats are
approximations (peak minus equity, in floats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["RunMarks", "equity_floats", "shortlist"]

_MARGIN: Final = 1e-9  # relative to the largest amount involved; a double errs by about 1e-16
_SPLIT: Final = 2.0**27 + 1.0  # Dekker's splitter for doubles
_DOUBLE_DOUBLE_ERROR: Final = 2.0**-98  # a generous bound on the sums below, relative
_WIDE: Final = Context(prec=80)


@dataclass(frozen=True, slots=True)
class RunMarks:
    """Equity and drawdown (from the peak so far) at each close of a run, as floats."""

    equity: npt.NDArray[np.float64]
    drawdown: npt.NDArray[np.float64]


def shortlist(
    equity: npt.NDArray[np.float64],
    peak: float,
    ticks: npt.NDArray[np.int64],
    best: npt.NDArray[np.int64],
) -> tuple[RunMarks, list[int], list[int]]:
    """Return the marks and the closes that may hold the largest drawdown and drawdown %.

    `equity` holds the run's equity at each close (as floats, rising with it), `peak` the peak
    before the run and `best[k]` the tick of the best close up to k. Each list holds the first
    close of every distinct (best, close) pair that qualifies, in order, so ties resolve as
    marking one by one does: the earliest wins.
    """
    peaks = np.maximum(peak, np.maximum.accumulate(equity))
    drawdown: npt.NDArray[np.float64] = peaks - equity
    margin = _MARGIN * (float(np.abs(equity).max()) + abs(peak))
    deepest = drawdown >= drawdown.max() - margin
    positive = peaks > margin
    percents = ~positive  # a peak near zero: let Decimal decide
    if positive.any():
        pct = np.where(positive, drawdown / np.where(positive, peaks, 1.0) * 100.0, -np.inf)
        lowest = float(peaks[positive].min())
        largest = float(np.abs(drawdown).max())
        pct_margin = 200.0 * margin * (1.0 / lowest + largest / lowest**2)
        percents |= positive & (pct >= pct.max() - pct_margin)
    return (
        RunMarks(equity, drawdown),
        _first_of_each(deepest, ticks, best),
        _first_of_each(percents, ticks, best),
    )


def _first_of_each(
    chosen: npt.NDArray[np.bool_], ticks: npt.NDArray[np.int64], best: npt.NDArray[np.int64]
) -> list[int]:
    index = np.flatnonzero(chosen)
    if index.size <= 1:
        return [int(i) for i in index]
    pairs = np.stack([best[index], ticks[index]], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    return [int(i) for i in np.sort(index[first])]


def equity_floats(
    other: Decimal,
    quantity_step: Decimal,
    ticks: npt.NDArray[np.int64],
    exact: Callable[[int], Decimal],
) -> npt.NDArray[np.float64]:
    """Return float(other + quantity_step x tick) for each tick, rounded exactly as float() does.

    The sums are carried in double-double arithmetic (error-free products and sums), which pins
    each value down to about 1e-30; only a value that lands within that of a rounding boundary
    (or on a power of two) is taken from `exact(k)` in Decimal instead.
    """
    o_hi, o_lo = _double_double(other)
    c_hi, c_lo = _double_double(quantity_step)
    t = ticks.astype(np.float64)
    product = c_hi * t
    a_hi, a_lo = _split(np.float64(c_hi))
    t_hi, t_lo = _split(t)
    product_error = ((a_hi * t_hi - product) + a_hi * t_lo + a_lo * t_hi) + a_lo * t_lo
    total = o_hi + product  # TwoSum: total + sum_error == o_hi + product exactly
    virtual = total - o_hi
    sum_error = (o_hi - (total - virtual)) + (product - virtual)
    tail = sum_error + product_error + o_lo + c_lo * t
    result = total + tail
    residual = (total - result) + tail  # what `result` leaves out of the double-double value
    bound = _DOUBLE_DOUBLE_ERROR * (abs(o_hi) + np.abs(product))
    mantissa, _ = np.frexp(result)
    with np.errstate(invalid="ignore"):
        doubtful = ~(np.abs(residual) + bound < np.spacing(np.abs(result)) / 2) | (
            np.abs(mantissa) == 0.5
        )
    for k in np.flatnonzero(doubtful):
        result[k] = float(exact(int(k)))
    return np.asarray(result, dtype=np.float64)


def _double_double(value: Decimal) -> tuple[float, float]:
    high = float(value)
    return high, float(_WIDE.subtract(value, Decimal(high)))


def _split(value: npt.NDArray[np.float64] | np.float64) -> tuple[Any, Any]:
    scaled = _SPLIT * value
    high = scaled - (scaled - value)
    return high, value - high
