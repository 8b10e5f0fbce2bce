"""The compiled loop's results as the engine's: outcomes bar by bar, or a batch whole.

`BatchView` reads the events and quiet runs `batch_kernel.run_batch` wrote and turns them into
what `TradingEngine.run_columns` yields: a `QuietRun` for each run of quiet bars and a
`BarOutcome` for each other bar, each carrying the account at its close (`AccountMark`), the
pipeline and safety guard taking its orders and fills; or, for a caller that counts and
journals in bulk, the whole batch as one `TradedBars` (its events, worded by `batch_rows`),
with the batch's fills counted and its orders' approvals recorded at once. The ledger is
settled once, at the batch's end (`BatchTrader`), with the day PnL the view adds up here.
Amounts come out as the Decimals the ledger would hold, to the digit and exponent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from peak_trade.compiled import ledger as batch_ledger
from peak_trade.compiled import text as batch_text
from peak_trade.compiled.layout import (
    E_CASH,
    E_CASH_PLACES,
    E_FEE,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_ORDER_DENIED,
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
from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.decimal_text import DIGITS
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import AccountMark, BarOutcome, BlockStart, QuietRun, TradedBars
from peak_trade.engine.pipeline import ExecutionResult, ExecutionStatus
from peak_trade.live.risk_limits import REDUCING_REFUSAL
from peak_trade.orders.base import (
    OrderExecutionResult,
    OrderFill,
    OrderRequest,
    OrderSide,
    OrderStatus,
)
from peak_trade.orders.sizing import SizingDecision, wanted_state
from peak_trade.portfolio import marks
from peak_trade.portfolio.account import RunMarks
from peak_trade.portfolio.ledger import equity_of

__all__ = ["BatchView", "Trader", "amount", "in_row_order", "order_reason"]

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


def _adds_exactly(total: Decimal, bound: int, places: int) -> bool:
    """Return True when adding to `total`, one by one, amounts with `places` decimals whose
    magnitudes sum to at most `bound` steps never rounds: no partial sum has more digits
    than Decimal keeps."""
    _, digits, exponent = total.as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - the ledger holds finite amounts
        return False
    common = min(exponent, -places)
    coefficient = int("".join(map(str, digits)))
    largest = coefficient * 10 ** (exponent - common) + bound * 10 ** (-places - common)
    return bool(largest < 10**DIGITS)


def _order_ids(
    columns: BarColumns, engine: TradingEngine, orders: list[tuple[int, int]], last: int
) -> list[tuple[datetime, str]]:
    """Return the bar time and client id of the `last` of `orders` (row, order number)."""
    picked = [(columns.time(row), number) for row, number in orders[len(orders) - last :]]
    return [(time, engine.client_id(time, number)) for time, number in picked]


def order_reason(event: Row) -> str:
    """Return why sizing sent a traded bar's order, as it words it: what it opens or closes."""
    lots, position = event[E_ORDER_LOTS], event[E_POSITION]
    held = position - lots if event[E_ORDER_FILLED] else position  # before the order
    if held:
        return "exit_long" if held > 0 else "exit_short"
    return "entry_long" if lots > 0 else "entry_short"


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


class Trader(Protocol):
    """What a view reads and keeps of the trader it serves (`trader.BatchTrader`)."""

    engine: TradingEngine
    lot_places: int
    price_places: int
    fee_places: int
    queued: OrderRequest | None  # the market order waiting for the next open
    queued_tracked: bool  # whether the pipeline's state table holds it


class BatchView:
    """Turns the loop's rows into the engine's items, and adds up the batch's day PnL."""

    def __init__(self, trader: Trader, money_places: int) -> None:
        engine = trader.engine
        self.trader, self.engine, self.money_places = trader, engine, money_places
        self.ledger, self.symbol = engine.ledger, engine.symbol
        self.target = engine.target
        self.cash, self.position = self.ledger.cash, self.ledger.position(engine.symbol)
        self.traded = self.ledger.trades > 0
        # the realized PnL by day, with the batch's fills: the ledger takes it at the end
        self.realized_by_day = dict(self.ledger.realized_by_day)
        instrument = engine.rules.instrument
        self.lot, self.tick, self.quote = trader.lot_places, trader.price_places, instrument.quote
        self.price_step = instrument.price_step
        self.fee_places = trader.lot_places + trader.price_places + trader.fee_places
        self.guard = engine.pipeline.safety_guard
        self.action = engine.pipeline.venue.venue_action

    def _amount(self, values: Row, at: int, places: int) -> Decimal:
        return amount(values, at, self.money_places, places)

    def _price(self, tick: int) -> Decimal:
        return Decimal(int(tick)).scaleb(-self.tick)

    def _account(self, tick: int, peak: Decimal) -> AccountMark:
        """Return the account at a close of `tick`, the ledger's way (`equity_of`)."""
        position = self.position
        equity = equity_of(self.cash, [(position, self._price(tick))])
        return AccountMark(self.cash, position, equity, peak)

    def quiet_run(self, columns: BarColumns, closes: Ints, row: Row) -> QuietRun:
        """Return a run of quiet bars (first row, stop row, peak before and after)."""
        start, stop = row[0], row[1]
        peak = self._amount(row, 2, row[4])
        cash, position, ticks = self.cash, self.position, closes[start:stop]
        step = self.price_step
        run_marks = RunMarks(lambda: marks.run_marks(cash, position, step, peak, ticks))
        account = self._account(int(closes[stop - 1]), self._amount(row, 5, row[7]))
        return QuietRun(columns, start, stop, self.target, run_marks, peak, account)

    def outcome(self, columns: BarColumns, closes: Ints, days: Ints, event: Row) -> BarOutcome:
        """Return a traded bar's outcome, its fills and order taken into the pipeline."""
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
            order = self._order(event, bar.time)
            self.guard.check(self.action, bar.time, order.client_id)
            decision = SizingDecision(decision.target, (order,))
            if event[E_ORDER_DENIED]:
                sent = pipeline.track_refused(order, REDUCING_REFUSAL)
            else:
                if filled_at_close:
                    submitted = self._filled(order, event, bar.time, day)
                else:
                    submitted = OrderExecutionResult(order, OrderStatus.SUBMITTED)
                    trader.queued, trader.queued_tracked = order, True
                pipeline.track_sent([submitted])
                results.append(submitted)
                sent = ExecutionResult(ExecutionStatus.SUCCESS, executed=(submitted,))
        fills.extend(r.fill for r in results if r.fill is not None)
        self._advance(event, bool(fills))
        account = self._account(
            int(closes[row]), self._amount(event, E_PEAK, int(event[E_PEAK_PLACES]))
        )
        previous = int(event[E_PREVIOUS])
        return BarOutcome(
            bar, target, previous, decision, sent, account, tuple(results), tuple(fills)
        )

    def block(
        self, columns: BarColumns, days: Ints, events: Ints, quiet: Ints, stop: int
    ) -> TradedBars | None:
        """Return the batch whole: its fills booked in the ledger's PnL by day and counted by
        the pipeline, its orders' approvals kept in the guard's audit (the runner journals
        them). None where an amount has more digits than Decimal keeps, so that sums in bulk
        could differ from Decimal's one by one: the caller then hands on the bars singly."""
        texts = batch_text.texts(
            events, quiet, self.money_places, self.lot, self.tick, self.fee_places
        )
        rows = events.tolist()
        trader, engine = self.trader, self.engine
        queued = trader.queued
        # the order waiting at the start fills at the first row's open: booked as one fill
        first_fill = queued is not None and bool(rows) and rows[0][E_FILL_LOTS] != 0
        sums = self._fill_sums(events, 1 if first_fill else 0, days)
        if texts is None or sums is None:
            return None
        start = BlockStart(
            self.cash,
            self.position,
            self.traded,
            self.target,
            queued,
            engine.id_prefix,
            self.guard.approval(self.action, columns.time(0)),
            texts,
        )
        if first_fill and queued is not None:
            time, day = columns.time(rows[0][E_ROW]), self._day(days, rows[0])
            done = self._filled(self._take_queued(), rows[0], time, day)
            engine.pipeline.track_filled(done)  # loaded from the venue: in the state table
        count, notional, fees, by_day = sums
        if count:
            engine.pipeline.count_filled(count, notional, fees)
        for day, pnl in by_day.items():
            self._add_day_pnl(day, pnl)
        orders = [(row[E_ROW], row[E_ORDER_SEQUENCE]) for row in rows if row[E_ORDER_LOTS]]
        self.guard.approve_many(
            self.action, len(orders), partial(_order_ids, columns, engine, orders)
        )
        last = self._last_open(rows)
        if last is not None:  # waiting for the next batch's first open
            order = self._order(last, columns.time(last[E_ROW]))
            trader.queued, trader.queued_tracked = order, False
        last_target = int(events[-1, E_TARGET]) if len(events) else start.target
        return TradedBars(columns, events, quiet, stop, start, last_target)

    @staticmethod
    def _last_open(rows: list[Row]) -> Row | None:
        """Return the last row whose order waits for the next open, if no fill followed it."""
        for row in reversed(rows):
            if row[E_ORDER_LOTS] and not (row[E_ORDER_FILLED] or row[E_ORDER_DENIED]):
                return row
            if row[E_FILL_LOTS]:
                return None
        return None

    def _day(self, days: Ints, event: Row) -> date:
        return date.fromordinal(int(days[event[E_ROW]]) + EPOCH_DAY)

    def _fill_sums(
        self, events: Ints, first: int, days: Ints
    ) -> tuple[int, Decimal, Decimal, dict[date, Decimal]] | None:
        """Return the count, notional and fees of the fills of `events[first:]` and their PnL
        net of fees by day, as Decimals that, added to the totals so far, give what adding
        them one by one gives; None where one by one Decimal would round (past 28 digits)."""
        totals = np.empty(5, dtype=np.int64)
        by_day = np.empty((len(events), 5), dtype=np.int64)
        scale = self.money_places - self.fee_places
        n_days = batch_ledger.fill_sums(events, first, days, scale, totals, by_day)
        count, notional, fees = int(totals[0]), load_wide(totals, 1), load_wide(totals, 3)
        so_far = self.engine.pipeline.fill_totals
        notional_places = self.lot + self.tick
        if not (
            _adds_exactly(so_far[0], notional, notional_places)
            and _adds_exactly(so_far[1], fees, self.fee_places)
        ):
            return None
        pnl: dict[date, Decimal] = {}
        for row in by_day[:n_days].tolist():
            day = date.fromordinal(row[0] + EPOCH_DAY)
            magnitude = load_wide(row, 3)
            if not _adds_exactly(self.realized_by_day.get(day, ZERO), magnitude, self.fee_places):
                return None
            pnl[day] = Decimal(load_wide(row, 1)).scaleb(-self.fee_places)
        return (
            count,
            Decimal(notional).scaleb(-notional_places),
            Decimal(fees).scaleb(-self.fee_places),
            pnl,
        )

    def _add_day_pnl(self, day: date, amount: Decimal) -> None:
        """Add a fill's realized PnL net of its fee to `day`'s, as `Ledger.apply_trade` does."""
        self.realized_by_day[day] = self.realized_by_day.get(day, ZERO) + amount

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

    def _order(self, event: Row, ts: datetime) -> OrderRequest:
        """Return the order of a traded bar, as sizing words it."""
        lots = int(event[E_ORDER_LOTS])
        return OrderRequest(
            self.engine.client_id(ts, int(event[E_ORDER_SEQUENCE])),
            self.symbol,
            OrderSide.BUY if lots > 0 else OrderSide.SELL,
            Decimal(abs(lots)).scaleb(-self.lot),
            reason=order_reason(event),
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
        self._add_day_pnl(day, _decimal(net, self.money_places, self.fee_places))
        return fill
