"""Marking at a close, decided once for the ledger and the compiled loop: when a new day
starts (`starts_day`) and the drawdown records a mark sets (`drawdown_records`).

`starts_day` runs as written on the ledger's day numbers and compiled on the loop's.
`drawdown_records` is a kernel over integer money: the compiled backtest loop runs it on its
128-bit steps, and `Ledger` runs the same function on its Decimal figures scaled to Python
ints (`core.wide.on_python_ints`), where every comparison is exact. Compiled, a drawdown
percent too close to the record for floats to tell apart comes back as -1: the loop then
hands the bar to the ledger, which decides it.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import common_steps, tick_price
from peak_trade.core.wide import Wide, compare, on_python_ints, ratio_above, subtract, widen

__all__ = ["DrawdownRecords", "check_closes", "drawdown_records", "records_of", "starts_day"]

DrawdownRecords = tuple[bool, bool, int]


@compiled
def starts_day(day: int, current: int) -> bool:
    """Return True when a mark on `day` starts a new day at the equity before it: a day after
    `current`, the day of the last mark (-1: none yet, and the first day starts at the start
    balance)."""
    return current >= 0 and day != current


@compiled
def drawdown_records(
    peak: Wide, equity: Wide, max_drawdown: Wide, pct_drawdown: Wide, pct_peak: Wide
) -> DrawdownRecords:
    """Return what a mark at `equity` sets against the peak before it: whether it is a new
    peak, whether its drawdown (peak - equity) is a new max drawdown, and whether its drawdown
    percent beats the record `pct_drawdown` / `pct_peak` (1 or 0; -1 compiled, where floats
    cannot tell)."""
    rises = compare(equity, peak) > 0
    if rises:
        peak = equity
    drawdown = subtract(peak, equity)
    percent = 0
    if compare(peak, widen(0)) > 0:
        percent = ratio_above(drawdown, peak, pct_drawdown, pct_peak)
    return rises, compare(drawdown, max_drawdown) > 0, percent


_records = on_python_ints(drawdown_records)


def records_of(
    peak: Decimal, equity: Decimal, max_drawdown: Decimal, pct_at: tuple[Decimal, Decimal]
) -> DrawdownRecords:
    """Return `drawdown_records` of Decimal figures, exactly (never -1)."""
    result: DrawdownRecords = _records(*common_steps(peak, equity, max_drawdown, *pct_at))
    return result


def check_closes(symbol: str, ticks: npt.NDArray[np.int64], price_step: Decimal) -> None:
    """Refuse a close of `symbol` at or below zero: a mark needs a price > 0."""
    if len(ticks) and ticks.min() <= 0:
        first = ticks[np.flatnonzero(ticks <= 0)[0]]
        raise InvariantError(
            f"mark price for {symbol} must be > 0, was {tick_price(first, price_step)}"
        )
