"""The compiled loop's results as the engine's: outcomes bar by bar, or a batch whole.

`BatchView` reads the events and quiet runs `batch_kernel.run_batch` wrote and turns them into
what `TradingEngine.run_columns` yields: a `QuietRun` for each run of quiet bars and a
`BarOutcome` for each other bar, the ledger showing each one's figures as it is yielded and the
pipeline and safety guard taking its orders and fills; or, for a caller that counts and
journals in bulk, the whole batch as one `TradedBars`. Amounts come out as the Decimals the
ledger would hold, to the digit and exponent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO
from peak_trade.execution.batch_layout import (
    E_CASH,
    E_CASH_PLACES,
    E_EQUITY,
    E_EQUITY_PLACES,
    E_FEE,
    E_FILL_CLOSED,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_ORDER_FILLED,
    E_ORDER_LOTS,
    E_ORDER_SEQUENCE,
    E_PEAK,
    E_PEAK_PLACES,
    E_POSITION,
    E_PREVIOUS,
    E_REALIZED,
    E_ROW,
    E_TARGET,
    EPOCH_DAY,
    Row,
    load_wide,
)
from peak_trade.execution.pipeline import ExecutionResult, ExecutionStatus
from peak_trade.live.safety import SafetyAuditEntry
from peak_trade.orders.base import (
    OrderExecutionResult,
    OrderFill,
    OrderRequest,
    OrderSide,
    OrderStatus,
)
from peak_trade.orders.sizing import SizingDecision, wanted_state
from peak_trade.portfolio import marks
from peak_trade.portfolio.ledger import RunMarks

if TYPE_CHECKING:
    from peak_trade.execution.batch import BatchTrader
    from peak_trade.execution.engine import BarOutcome, QuietRun

__all__ = ["BatchView", "TradedBar", "TradedBars", "amount", "in_row_order"]

Ints = npt.NDArray[np.int64]
_POWERS = [10**k for k in range(80)]


def _decimal(count: int, money_places: int, places: int) -> Decimal:
    """Return `count` money steps as the Decimal with `places` decimals (as many as the
    amount has in Decimal arithmetic; never more than the steps' own)."""
    if places >= money_places:
        return Decimal(count).scaleb(-money_places)
    return Decimal(count // _POWERS[money_places - places]).scaleb(-places)


def amount(values: Ints | Row, at: int, money_places: int, places: int) -> Decimal:
    """Return the wide amount in slots `at` and `at + 1` as the Decimal with `places`
    decimals."""
    return _decimal(load_wide(values, at), money_places, places)


def in_row_order(events: Ints, quiet: Ints) -> Iterator[tuple[bool, Row]]:
    """Yield the loop's traded bars (True) and runs of quiet bars (False) in row order."""
    k, runs = 0, quiet.tolist()
    for event in events.tolist():
        while k < len(runs) and runs[k][0] < event[E_ROW]:
            yield False, runs[k]
            k += 1
        yield True, event
    for run in runs[k:]:
        yield False, run


@dataclass(frozen=True, slots=True)
class TradedBar:
    """A bar the compiled loop traded, as its journal rows need it: the account after it, its
    order (if any) and its fills in the order they happened."""

    row: int
    time: datetime
    target: int
    previous: int
    cash: Decimal
    position: Decimal
    equity: Decimal
    drawdown: Decimal
    order: OrderRequest | None
    safety: SafetyAuditEntry | None  # the guard's decision on the order
    fills: tuple[OrderFill, ...]


@dataclass(frozen=True, slots=True)
class TradedBars:
    """A batch the compiled loop traded, handed on whole: its runs of quiet bars (each with the
    cash and position during it) and its traded bars, in row order. The engine yields one
    instead of each bar's items when asked to (`TradingEngine.traded_blocks`): the runner then
    counts and journals them in bulk."""

    columns: BarColumns
    items: tuple[tuple[QuietRun, Decimal, Decimal] | TradedBar, ...]
    stop: int  # the row after the last


class BatchView:
    """Turns the loop's rows into the engine's items, keeping the ledger in step with them."""

    def __init__(self, trader: BatchTrader, money_places: int) -> None:
        engine = trader.engine
        self.trader, self.engine, self.money_places = trader, engine, money_places
        self.ledger, self.symbol = engine.ledger, engine.symbol
        self.target = engine.target
        self.cash, self.position = self.ledger.cash, self.ledger.position(engine.symbol)
        self.realized, self.fees = self.ledger.realized_pnl, self.ledger.fees_paid
        self.traded = self.ledger.trades > 0
        instrument = engine.rules.instrument
        self.lot, self.tick, self.quote = trader.lot_places, trader.price_places, instrument.quote
        self.price_step = instrument.price_step
        self.fee_places = trader.lot_places + trader.price_places + trader.fee_places
        self.guard = engine.pipeline.safety_guard
        self.action = engine.pipeline.venue.venue_action
        self.uncounted: list[OrderFill] = []  # fills the pipeline has not counted yet

    def _amount(self, values: Row, at: int, places: int) -> Decimal:
        return amount(values, at, self.money_places, places)

    def _price(self, tick: int) -> Decimal:
        return Decimal(int(tick)).scaleb(-self.tick)

    def _show(self, tick: int, peak: Decimal) -> None:
        quantity = self.position if self.traded else None
        money = (self.realized, self.fees)
        self.ledger.show_marks(self.symbol, self.cash, quantity, self._price(tick), peak, money)

    def quiet_run(
        self, columns: BarColumns, closes: Ints, row: Row, *, shown: bool = True
    ) -> QuietRun:
        """Return a run of quiet bars (first row, stop row, peak before and after); `shown`:
        the ledger shows its last bar's figures."""
        from peak_trade.execution.engine import QuietRun

        start, stop = row[0], row[1]
        peak = self._amount(row, 2, row[4])
        cash, position, ticks = self.cash, self.position, closes[start:stop]
        step = self.price_step
        run_marks = RunMarks(lambda: marks.run_marks(cash, position, step, peak, ticks))
        if shown:
            self._show(int(closes[stop - 1]), self._amount(row, 5, row[7]))
        return QuietRun(columns, start, stop, self.target, run_marks, peak)

    def outcome(self, columns: BarColumns, closes: Ints, days: Ints, event: Row) -> BarOutcome:
        """Return a traded bar's outcome, its fills and order taken into the pipeline."""
        from peak_trade.execution.engine import BarOutcome

        row = int(event[E_ROW])
        bar = columns.bar(row)
        day = date.fromordinal(int(days[row]) + EPOCH_DAY)
        fills: list[OrderFill] = []
        results: list[OrderExecutionResult] = []
        trader, pipeline = self.trader, self.engine.pipeline
        filled_at_close = bool(event[E_ORDER_FILLED])
        if event[E_FILL_LOTS] and not filled_at_close:
            done = self._filled(self._take_queued(), event, bar.time, day)
            pipeline.track_filled(done)
            results.append(done)
        target = int(event[E_TARGET])
        decision = SizingDecision(wanted_state(target, self.engine.rules))
        sent: ExecutionResult | None = None
        if event[E_ORDER_LOTS]:
            order = self._order(event, bar.time, filled_at_close)
            self.guard.check(self.action, bar.time, order.client_id)
            if filled_at_close:
                submitted = self._filled(order, event, bar.time, day)
            else:
                submitted = OrderExecutionResult(order, OrderStatus.SUBMITTED)
                trader.queued, trader.queued_tracked = order, True
            pipeline.track_sent([submitted])
            results.append(submitted)
            decision = SizingDecision(decision.target, (order,))
            sent = ExecutionResult(ExecutionStatus.SUCCESS, executed=(submitted,))
        fills.extend(r.fill for r in results if r.fill is not None)
        self._advance(event, bool(fills))
        self._show(int(closes[row]), self._amount(event, E_PEAK, int(event[E_PEAK_PLACES])))
        previous = int(event[E_PREVIOUS])
        return BarOutcome(bar, target, previous, decision, sent, tuple(results), tuple(fills))

    def block(
        self,
        columns: BarColumns,
        closes: Ints,
        days: Ints,
        events: Ints,
        quiet: Ints,
        stop: int,
    ) -> TradedBars:
        """Return the batch whole; its orders and fills are counted by the pipeline and its
        orders' safety decisions kept in the guard's audit (the runner journals them)."""
        items: list[tuple[QuietRun, Decimal, Decimal] | TradedBar] = []
        for is_event, row in in_row_order(events, quiet):
            if is_event:
                items.append(self.traded_bar(columns.time(row[E_ROW]), days, row))
            else:
                run = self.quiet_run(columns, closes, row, shown=False)
                items.append((run, self.cash, self.position))
        self.engine.pipeline.count_fills(self.uncounted)
        return TradedBars(columns, tuple(items), stop)

    def traded_bar(self, time: datetime, days: Ints, event: Row) -> TradedBar:
        """Return a traded bar for the journal, the ledger's day PnL booked."""
        row = int(event[E_ROW])
        day = date.fromordinal(int(days[row]) + EPOCH_DAY)
        trader = self.trader
        fills: list[OrderFill] = []
        filled_at_close = bool(event[E_ORDER_FILLED])
        if event[E_FILL_LOTS] and not filled_at_close:
            queued = self._take_queued()
            fill = self._fill(queued, event, time, day)
            fills.append(fill)
            if trader.queued_tracked:  # in the state table: settled there, and counted
                result = OrderExecutionResult(queued, OrderStatus.FILLED, fill=fill)
                self.engine.pipeline.track_filled(result)
            else:
                self.uncounted.append(fill)
        order, safety = None, None
        if event[E_ORDER_LOTS]:
            order = self._order(event, time, filled_at_close)
            safety = self.guard.approve(self.action, time, order.client_id)
            if filled_at_close:
                fills.append(self._fill(order, event, time, day))
                self.uncounted.append(fills[-1])
            else:
                trader.queued, trader.queued_tracked = order, False
        self._advance(event, bool(fills))
        equity = self._amount(event, E_EQUITY, int(event[E_EQUITY_PLACES]))
        peak = self._amount(event, E_PEAK, int(event[E_PEAK_PLACES]))
        return TradedBar(
            row,
            time,
            self.target,
            int(event[E_PREVIOUS]),
            self.cash,
            self.position,
            equity,
            peak - equity,
            order,
            safety,
            tuple(fills),
        )

    def _take_queued(self) -> OrderRequest:
        """Return the order queued for this bar's open, no longer queued."""
        queued, self.trader.queued = self.trader.queued, None
        if queued is None:  # pragma: no cover - the loop fills only what it was given
            raise InvariantError("the compiled loop filled an order nobody queued")
        return queued

    def _advance(self, event: Row, filled: bool) -> None:
        """Take a traded bar's target, cash and position (a position record exists once
        anything filled, as in the ledger)."""
        self.target = int(event[E_TARGET])
        self.cash = self._amount(event, E_CASH, int(event[E_CASH_PLACES]))
        if self.traded or filled:
            self.traded = True
            self.position = Decimal(int(event[E_POSITION])).scaleb(-self.lot)

    def _order(self, event: Row, ts: datetime, filled_at_close: bool) -> OrderRequest:
        """Return the order of a traded bar, as sizing words it."""
        lots = int(event[E_ORDER_LOTS])
        position = int(event[E_POSITION])
        held = position - lots if filled_at_close else position  # before the order
        if held:
            reason = f"exit_{'long' if held > 0 else 'short'}"
        else:
            reason = f"entry_{'long' if lots > 0 else 'short'}"
        return OrderRequest(
            self.engine.client_id(ts, int(event[E_ORDER_SEQUENCE])),
            self.symbol,
            OrderSide.BUY if lots > 0 else OrderSide.SELL,
            Decimal(abs(lots)).scaleb(-self.lot),
            reason=reason,
            ts_event=ts,
        )

    def _filled(
        self, order: OrderRequest, event: Row, ts: datetime, day: date
    ) -> OrderExecutionResult:
        """Return the fill of `order` on a traded bar as the venue's result."""
        return OrderExecutionResult(
            order, OrderStatus.FILLED, fill=self._fill(order, event, ts, day)
        )

    def _fill(self, order: OrderRequest, event: Row, ts: datetime, day: date) -> OrderFill:
        """Return the fill of `order` on a traded bar; book its PnL for the day."""
        fee = self._amount(event, E_FEE, self.fee_places)
        fill = OrderFill(
            client_id=order.client_id,
            symbol=self.symbol,
            side=order.side,
            quantity=order.quantity,
            price=self._price(int(event[E_FILL_TICK])),
            fee=fee,
            fee_currency=self.quote,
            ts_event=ts,
            market_price=self._price(int(event[E_MARKET_TICK])),
        )
        net = load_wide(event, E_REALIZED) - load_wide(event, E_FEE)
        self.ledger.add_day_pnl(day, _decimal(net, self.money_places, self.fee_places))
        # as the ledger adds them: an opening fill's realized PnL is ZERO itself
        closed = bool(event[E_FILL_CLOSED])
        places = self.lot + self.tick
        self.realized += self._amount(event, E_REALIZED, places) if closed else ZERO
        self.fees += fee
        return fill
