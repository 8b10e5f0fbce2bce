"""The account as values: a position's state, the figures risk checks read, the ledger's
totals, and the marks of a run of quiet bars."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from peak_trade.core.money import ZERO

__all__ = ["AccountSnapshot", "LedgerTotals", "PositionState", "RunMarks", "drawdown_pct"]

Floats = npt.NDArray[np.float64]
_HUNDRED = Decimal(100)


class RunMarks:
    """Equity and drawdown (from the peak so far) at each close of a run, as floats.

    Each float is exactly float() of the Decimal the ledger holds for that close, so journals
    written from runs and bar by bar agree. They are worked out when first read: a backtest
    without a journal never needs them.
    """

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[], tuple[Floats, Floats]]) -> None:
        self._compute = compute
        self._values: tuple[Floats, Floats] | None = None

    @classmethod
    def of(cls, equity: Floats, drawdown: Floats) -> RunMarks:
        """Return marks already worked out."""
        return cls(lambda: (equity, drawdown))

    def _get(self) -> tuple[Floats, Floats]:
        if self._values is None:
            self._values = self._compute()
        return self._values

    @property
    def equity(self) -> Floats:
        """Return the equity at each close."""
        return self._get()[0]

    @property
    def drawdown(self) -> Floats:
        """Return the drawdown from the peak so far at each close."""
        return self._get()[1]


@dataclass(slots=True)
class PositionState:
    """One symbol's holding: signed quantity and signed cost basis."""

    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO

    @property
    def average_entry_price(self) -> Decimal | None:
        """Return basis / quantity, or None when flat."""
        return abs(self.cost_basis / self.quantity) if self.quantity else None


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What risk checks need to know about the account, as plain values."""

    start_balance: Decimal
    cash: Decimal
    equity: Decimal
    peak_equity: Decimal
    positions: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    day_pnl: Decimal

    def position(self, symbol: str) -> Decimal:
        """Return the signed position in `symbol` (0 when none)."""
        return self.positions.get(symbol, ZERO)

    @property
    def drawdown_pct(self) -> Decimal:
        """Return the current drawdown from the peak, in percent."""
        if self.peak_equity <= 0:
            return ZERO
        return drawdown_pct(self.peak_equity - self.equity, self.peak_equity)


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """The ledger's running figures apart from positions: what a backtest loop carries on."""

    cash: Decimal
    fees_paid: Decimal
    realized_pnl: Decimal
    trades: int
    peak_equity: Decimal
    max_drawdown: Decimal
    max_drawdown_at: tuple[Decimal, Decimal]  # (drawdown, peak) of the max drawdown percent
    bars_marked: int
    bars_in_market: int
    day: date | None
    day_start_equity: Decimal
    realized_by_day: Mapping[date, Decimal]  # realized PnL net of fees, by UTC day


def drawdown_pct(drawdown: Decimal, peak: Decimal) -> Decimal:
    """Return a drawdown in percent of its peak (the one rule for every drawdown percent)."""
    return drawdown / peak * _HUNDRED
