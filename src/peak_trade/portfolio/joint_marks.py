"""Marking several symbols' closes of the same bar times at once (a portfolio's quiet bars).

With no fills, the account's equity at each bar time is `cash + sum(q_i x close_i)`. Written
in a common decimal unit, `sum(q_i x price_step_i x ticks_i)` is one integer per bar time, and
the equity is `cash + unit x that integer`: the form `Ledger.mark_series` marks exactly, as a
single symbol's run of closes is marked. The integers are kept below 2^53, where a float holds
them exactly; a run whose sum could be larger is not marked here (the caller marks it bar by
bar), so nothing is ever rounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from peak_trade.core.money import ZERO, decimal_places, tick_price
from peak_trade.portfolio.account import RunMarks
from peak_trade.portfolio.ledger import Ledger
from peak_trade.portfolio.marking import check_closes

__all__ = ["EXACT_LIMIT", "mark_jointly"]

EXACT_LIMIT = 2**53  # the integers a float holds exactly


def mark_jointly(
    ledger: Ledger,
    symbols: Sequence[str],
    ticks: Sequence[npt.NDArray[np.int64]],
    price_steps: Sequence[Decimal],
    days: npt.NDArray[np.int64],
) -> RunMarks | None:
    """Mark the closes `ticks[i][k] x price_steps[i]` of each symbol at each bar time k (on UTC
    day `days[k]`), with the same result as `Ledger.mark_all` bar time by bar time; None (and
    nothing marked) when the joint value could leave the exact range."""
    for symbol, closes, step in zip(symbols, ticks, price_steps, strict=True):
        check_closes(symbol, closes, step)
    amounts = [ledger.position(s) * step for s, step in zip(symbols, price_steps, strict=True)]
    places = max(decimal_places(amount) for amount in amounts)
    units = [int(amount.scaleb(places)) for amount in amounts]
    reach = sum(abs(u) * int(np.abs(t).max()) for u, t in zip(units, ticks, strict=True) if u)
    if reach >= EXACT_LIMIT:
        return None
    joint = np.zeros(len(days), dtype=np.int64)
    for unit, closes in zip(units, ticks, strict=True):
        if unit:
            joint += unit * closes
    step = Decimal(1).scaleb(-places) if any(units) else ZERO
    run = ledger.mark_series(joint, step, days, symbols)
    last = zip(symbols, ticks, price_steps, strict=True)
    ledger.note_prices({symbol: tick_price(t[-1], step_) for symbol, t, step_ in last})
    return run
