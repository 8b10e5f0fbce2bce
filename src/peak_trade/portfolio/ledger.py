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

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import python_of
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO, round_half_even, tick_price
from peak_trade.portfolio import marks
from peak_trade.portfolio.account import (
    AccountSnapshot,
    LedgerTotals,
    PositionState,
    RunMarks,
    drawdown_pct,
)
from peak_trade.portfolio.booking import PARTIAL, book_decimal
from peak_trade.portfolio.marking import check_closes, records_of, starts_day

__all__ = ["Ledger", "equity_of", "position_sign"]

_HUNDRED = Decimal(100)
_BASIS_QUANTUM = Decimal("1E-12")
_starts_day = python_of(starts_day)


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
        # the drawdown and peak the max drawdown percent was worked out from
        self._max_pct_at = (ZERO, start_balance)

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
            self._equity = self._value()
        return self._equity

    def _held(self, exclude: Collection[str]) -> list[tuple[Decimal, Decimal]]:
        """Return (quantity, last price) of each position not in `exclude`."""
        return [
            (p.quantity, self._prices[s]) for s, p in self._positions.items() if s not in exclude
        ]

    def _value(self, symbol: str = "", price: Decimal = ZERO) -> Decimal:
        """Return cash + the positions, `symbol` (if given) valued at `price`."""
        held = (
            (p.quantity, price if s == symbol else self._prices[s])
            for s, p in self._positions.items()
        )
        return equity_of(self.cash, held)

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

    def totals(self) -> LedgerTotals:
        """Return the ledger's running figures (the compiled loop starts from them, and gives
        them back through `restore`)."""
        return LedgerTotals(
            cash=self.cash,
            fees_paid=self.fees_paid,
            realized_pnl=self.realized_pnl,
            trades=self.trades,
            peak_equity=self.peak_equity,
            max_drawdown=self.max_drawdown,
            max_drawdown_at=self._max_pct_at,
            bars_marked=self.bars_marked,
            bars_in_market=self.bars_in_market,
            day=self._day,
            day_start_equity=self._day_start_equity,
            realized_by_day=dict(self.realized_by_day),
        )

    # --- writing -------------------------------------------------------------------------------

    def restore(
        self,
        totals: LedgerTotals,
        symbol: str,
        last_price: Decimal,
        position: PositionState | None = None,
    ) -> None:
        """Set the ledger to figures worked out elsewhere (the compiled loop, from `totals()`
        and the fills and marks of its batch): the running totals, the last mark of `symbol`
        and, if given, its position; exactly as marks and trades would have left them."""
        self.cash = totals.cash
        self.fees_paid = totals.fees_paid
        self.realized_pnl = totals.realized_pnl
        self.trades = totals.trades
        self.peak_equity = totals.peak_equity
        self.max_drawdown = totals.max_drawdown
        drawdown, peak = self._max_pct_at = totals.max_drawdown_at
        if drawdown:
            self.max_drawdown_pct = drawdown_pct(drawdown, peak)
        self.bars_marked = totals.bars_marked
        self.bars_in_market = totals.bars_in_market
        self._day = totals.day
        self._day_start_equity = totals.day_start_equity
        self.realized_by_day = dict(totals.realized_by_day)
        if position is not None:
            self._positions[symbol] = position
        self._prices[symbol] = last_price
        self._equity = None

    def mark(self, symbol: str, price: Decimal, ts: datetime) -> None:
        """Value `symbol` at `price` as of `ts` (a bar close) and update drawdown and exposure."""
        self.mark_all({symbol: price}, ts)

    def mark_all(self, prices: Mapping[str, Decimal], ts: datetime) -> None:
        """Value several symbols at their closes of one time, as one mark of the account: the
        peak and drawdown see the account only with every close in (a portfolio's bar)."""
        for symbol, price in prices.items():
            if not price.is_finite() or price <= 0:
                raise InvariantError(f"mark price for {symbol} must be > 0, was {price}")
        self._enter_day(ts.date(), self.equity)
        self._prices.update(prices)
        self.bars_marked += 1
        if any(p.quantity for p in self._positions.values()):
            self.bars_in_market += 1
        self._equity = None
        self._update_drawdown()

    def mark_run(
        self,
        symbol: str,
        ticks: npt.NDArray[np.int64],
        price_step: Decimal,
        days: npt.NDArray[np.int64],
    ) -> RunMarks:
        """Mark `symbol` at a run of bar closes, with the same result as `mark` one by one.

        Each close is `ticks[k] x price_step`; `days[k]` is its bar's UTC day (days since
        1970-01-01). Only the ledger's positions must stay the same during the run (no fills).
        Returns the equity and drawdown at each close as floats, for journals and statistics.
        """
        if len(ticks) == 0:
            return RunMarks.of(np.empty(0), np.empty(0))
        check_closes(symbol, ticks, price_step)
        run = self.mark_series(ticks, self.position(symbol) * price_step, days, (symbol,))
        self._prices[symbol] = tick_price(ticks[-1], price_step)
        return run

    def mark_series(
        self,
        values: npt.NDArray[np.int64],
        step: Decimal,
        days: npt.NDArray[np.int64],
        symbols: Collection[str],
    ) -> RunMarks:
        """Mark a run of closes of `symbols` at which the equity is `other + step x values[k]`,
        `other` being the cash and the positions of the other symbols (no fills in the run);
        the caller then sets the last prices of `symbols`.

        The extremes (peak, drawdown, drawdown %) are found on float approximations and then
        decided in Decimal among every close within a safe margin of them, so they are exact.
        """
        sign = position_sign(step) if values.any() else 0
        other = equity_of(self.cash, self._held(exclude=symbols))
        peak = self.peak_equity
        records = (peak, self.max_drawdown, self.max_drawdown_pct)
        _, best, drawdowns, percents, new_peak = marks.scan(values, sign, other, step, records)
        worth: dict[int, Decimal] = {}

        def value(tick: int | np.integer) -> Decimal:
            key = int(tick)
            if key not in worth:  # as `equity_of` writes it: a flat book adds nothing
                worth[key] = other + step * key if step else other
            return worth[key]

        self._enter_days(days, value, values)
        self.bars_marked += len(values)
        if any(p.quantity for p in self._positions.values()):
            self.bars_in_market += len(values)
        self._equity = None
        if sign == 0:  # every close leaves the equity where it is
            self._update_drawdown()
            return RunMarks(lambda: marks.run_marks(other, ZERO, ZERO, peak, values))
        for k in drawdowns:
            self._update_drawdown(max(peak, value(best[k])), value(values[k]), False)
        for k in percents:
            self._update_drawdown(max(peak, value(best[k])), value(values[k]), True)
        if new_peak:
            self.peak_equity = max(peak, value(best[-1]))
        return RunMarks(lambda: marks.run_floats(other, step, peak, values, best))

    def note_prices(self, prices: Mapping[str, Decimal]) -> None:
        """Set the last prices of the symbols a `mark_series` run marked."""
        self._prices.update(prices)
        self._equity = None

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
        """Book a fill into `state` (the `book` kernel); return its realized PnL."""
        how, position, basis, realized = book_decimal(
            state.quantity, state.cost_basis, quantity, price
        )
        if how != PARTIAL:
            state.quantity, state.cost_basis = position, basis
            return realized
        # A partial close removes a proportional part of the basis, quantized so every booked
        # amount keeps few decimals: sums then stay exact.
        held = state.quantity
        closed_part = -quantity
        removed = round_half_even(state.cost_basis * abs(quantity) / abs(held), _BASIS_QUANTUM)
        state.cost_basis -= removed
        state.quantity -= closed_part
        return closed_part * price - removed

    def _update_drawdown(
        self,
        peak: Decimal | None = None,
        equity: Decimal | None = None,
        percent: bool | None = None,
    ) -> None:
        """Raise peak, max drawdown and max drawdown % to include one mark.

        With no arguments: the current equity, against the peak including it. `mark_run` passes
        a close's peak and equity and whether to update only the amount (False) or the percent.
        """
        if equity is None:
            equity = self.equity
        peak = self.peak_equity if peak is None else peak
        rises, deeper, above = records_of(peak, equity, self.max_drawdown, self._max_pct_at)
        if rises:
            peak = self.peak_equity = equity
        drawdown = peak - equity
        if percent is not True and deeper:
            self.max_drawdown = drawdown
        if percent is not False and above:
            self.max_drawdown_pct = drawdown_pct(drawdown, peak)
            self._max_pct_at = (drawdown, peak)

    def _enter_day(self, day: date, equity: Decimal) -> None:
        """Start a new UTC day at `equity` (the equity before the day's first mark)."""
        current = -1 if self._day is None else self._day.toordinal()
        if _starts_day(day.toordinal(), current):
            self._day_start_equity = equity
        self._day = day

    def _enter_days(
        self,
        days: npt.NDArray[np.int64],
        value: Callable[[np.int64], Decimal],
        ticks: npt.NDArray[np.int64],
    ) -> None:
        """Apply the last day change within a run of marks (earlier ones are overwritten)."""
        before = days[0] - 1 if self._day is None else self._day.toordinal() - _EPOCH_ORDINAL
        if days[-1] == before:  # days never go back: the whole run is on the current day
            return
        changes = np.flatnonzero(np.diff(days, prepend=before))
        if changes.size:
            k = int(changes[-1])
            if k > 0:  # the run's earlier marks already entered the previous day
                self._day = _day_of(days[k - 1])
            self._enter_day(_day_of(days[k]), self.equity if k == 0 else value(ticks[k - 1]))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def equity_of(cash: Decimal, holdings: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Return cash + each held quantity x its price (the one rule for the equity)."""
    return cash + sum((quantity * price for quantity, price in holdings if quantity), ZERO)


def position_sign(quantity: Decimal) -> int:
    """Return -1, 0 or +1 for a short, flat or long quantity."""
    return (quantity > 0) - (quantity < 0)


def _day_of(day: np.int64) -> date:
    return date.fromordinal(int(day) + _EPOCH_ORDINAL)
