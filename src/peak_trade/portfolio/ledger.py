"""The session ledger, in Decimal: cash, positions, realized and unrealized PnL, fees, drawdown.

Each position keeps a signed cost basis instead of an average price. A partial close removes a
proportional (possibly rounded) part of the basis and books the difference as realized PnL;
because removed plus remaining basis always equals what was paid, the identity

    cash + sum(position x price) == start + realized + unrealized - fees

holds exactly after any sequence of trades (a Hypothesis test checks it). The removed part is
rounded to 1E-12, so every booked amount has a bounded number of decimals and no later sum
exceeds Decimal's 28 significant digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO, round_half_even

__all__ = ["AccountSnapshot", "Ledger", "PositionState"]

_HUNDRED = Decimal(100)
_BASIS_QUANTUM = Decimal("1E-12")


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
        return (self.peak_equity - self.equity) / self.peak_equity * _HUNDRED


class Ledger:
    """Books trades and marks, and derives equity, PnL and drawdown from them."""

    def __init__(self, start_balance: Decimal, currency: str = "EUR") -> None:
        if not start_balance.is_finite() or start_balance <= 0:
            raise ValueError(f"start_balance must be > 0, was {start_balance}")
        self.start_balance = start_balance
        self.currency = currency
        self.cash = start_balance
        self.realized_pnl = ZERO
        self.fees_paid = ZERO
        self.realized_by_day: dict[date, Decimal] = {}
        self.trades = 0
        self.peak_equity = start_balance
        self.max_drawdown = ZERO
        self.max_drawdown_pct = ZERO
        self.bars_marked = 0
        self.bars_in_market = 0
        self._positions: dict[str, PositionState] = {}
        self._prices: dict[str, Decimal] = {}
        self._day: date | None = None
        self._day_start_equity = start_balance
        self._equity: Decimal | None = start_balance

    # --- reading -------------------------------------------------------------------------------

    def position(self, symbol: str) -> Decimal:
        """Return the signed position in `symbol`."""
        state = self._positions.get(symbol)
        return state.quantity if state else ZERO

    def position_state(self, symbol: str) -> PositionState:
        """Return a copy of the position record of `symbol`."""
        state = self._positions.get(symbol, PositionState())
        return PositionState(state.quantity, state.cost_basis)

    def last_price(self, symbol: str) -> Decimal | None:
        """Return the last mark or fill price of `symbol`."""
        return self._prices.get(symbol)

    @property
    def positions(self) -> dict[str, Decimal]:
        """Return the non-zero positions by symbol."""
        return {s: p.quantity for s, p in self._positions.items() if p.quantity}

    @property
    def unrealized_pnl(self) -> Decimal:
        """Return the sum over positions of position x last price - cost basis."""
        return sum(
            (
                p.quantity * self._prices[s] - p.cost_basis
                for s, p in self._positions.items()
                if p.quantity
            ),
            ZERO,
        )

    @property
    def equity(self) -> Decimal:
        """Return cash + the positions at their last prices (kept until the next mark or fill)."""
        if self._equity is None:
            held = (p.quantity * self._prices[s] for s, p in self._positions.items() if p.quantity)
            self._equity = self.cash + sum(held, ZERO)
        return self._equity

    @property
    def net_pnl(self) -> Decimal:
        """Return realized + unrealized - fees (= equity - start balance)."""
        return self.realized_pnl + self.unrealized_pnl - self.fees_paid

    @property
    def return_pct(self) -> Decimal:
        """Return the net PnL in percent of the start balance."""
        return (self.equity - self.start_balance) / self.start_balance * _HUNDRED

    @property
    def time_in_market(self) -> Decimal:
        """Return the share of marked bars with an open position."""
        return Decimal(self.bars_in_market) / self.bars_marked if self.bars_marked else ZERO

    def day_pnl(self) -> Decimal:
        """Return the equity change since the start of the current UTC day."""
        return self.equity - self._day_start_equity

    def snapshot(self) -> AccountSnapshot:
        """Return the account as plain values for risk checks."""
        return AccountSnapshot(
            start_balance=self.start_balance,
            cash=self.cash,
            equity=self.equity,
            peak_equity=self.peak_equity,
            positions=self.positions,
            prices=dict(self._prices),
            day_pnl=self.day_pnl(),
        )

    # --- writing -------------------------------------------------------------------------------

    def mark(self, symbol: str, price: Decimal, ts: datetime) -> None:
        """Value `symbol` at `price` as of `ts` (a bar close) and update drawdown and exposure."""
        if not price.is_finite() or price <= 0:
            raise InvariantError(f"mark price for {symbol} must be > 0, was {price}")
        day = ts.date()
        if day != self._day:
            self._day_start_equity = self.equity if self._day is not None else self.start_balance
            self._day = day
        self._prices[symbol] = price
        self.bars_marked += 1
        if any(p.quantity for p in self._positions.values()):
            self.bars_in_market += 1
        self._equity = None
        self._update_drawdown()

    def apply_trade(
        self, symbol: str, quantity: Decimal, price: Decimal, fee: Decimal, ts: datetime
    ) -> Decimal:
        """Book a fill of signed `quantity` at `price` paying `fee`; return its realized PnL."""
        if quantity == 0 or price <= 0 or fee < 0:
            raise InvariantError(
                f"a fill needs quantity != 0, price > 0 and fee >= 0, "
                f"was quantity={quantity}, price={price}, fee={fee}"
            )
        state = self._positions.setdefault(symbol, PositionState())
        realized = self._book(state, quantity, price)
        self.cash -= quantity * price + fee
        self.fees_paid += fee
        self.realized_pnl += realized
        day = ts.date()
        self.realized_by_day[day] = self.realized_by_day.get(day, ZERO) + realized - fee
        self.trades += 1
        self._prices.setdefault(symbol, price)
        self._equity = None
        self._update_drawdown()
        return realized

    @staticmethod
    def _book(state: PositionState, quantity: Decimal, price: Decimal) -> Decimal:
        held = state.quantity
        if held == 0 or (held > 0) == (quantity > 0):
            state.quantity += quantity
            state.cost_basis += quantity * price
            return ZERO
        closing = min(abs(quantity), abs(held))
        if closing == abs(held):
            removed = state.cost_basis
        else:
            # Quantized so every booked amount keeps few decimals: sums then stay exact.
            removed = round_half_even(state.cost_basis * closing / abs(held), _BASIS_QUANTUM)
        closed_part = closing if held > 0 else -closing
        realized = closed_part * price - removed
        state.cost_basis -= removed
        state.quantity -= closed_part
        opening = quantity + closed_part  # what is left after closing opens the other side
        if opening:
            state.quantity += opening
            state.cost_basis += opening * price
        return realized

    def _update_drawdown(self) -> None:
        equity = self.equity
        if equity > self.peak_equity:
            self.peak_equity = equity
        drawdown = self.peak_equity - equity
        if drawdown > self.max_drawdown:
            self.max_drawdown = drawdown
        if self.peak_equity > 0:
            pct = drawdown / self.peak_equity * _HUNDRED
            if pct > self.max_drawdown_pct:
                self.max_drawdown_pct = pct
