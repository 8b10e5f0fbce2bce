"""Trade a column batch with the compiled loop, and hand its results on as the engine's.

`BatchTrader.trade` runs `batch_kernel.run_batch` over a batch's rows and yields what
`TradingEngine.run_columns` yields: a `QuietRun` for each run of quiet bars and a `BarOutcome`
for each other bar, with the same orders, fills and ledger figures, to the digit and exponent
of every Decimal (the journal holds their text). The ledger, the venue's queue, the pipeline's
state table and the safety guard's audit see what the ordinary path would have left in them.
A bar the loop does not trade plainly (see `batch_kernel`) is stepped by the engine itself.

The loop is used where the engine's setup is the plain one: the shadow venue filling at the
next open or the close, a safety guard that permits simulated fills, risk limits that are
active and not replaying a journal, and money that fits in the loop's steps.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO, decimal_places, price_ticks, steps
from peak_trade.execution import batch_kernel as kernel
from peak_trade.execution.pipeline import ExecutionResult, ExecutionStatus
from peak_trade.live.risk_limits import TradingState
from peak_trade.live.safety import SafetyAuditEntry
from peak_trade.orders.base import (
    OrderExecutionResult,
    OrderFill,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from peak_trade.orders.shadow import ShadowOrderExecutor
from peak_trade.orders.sizing import SizingDecision, wanted_state
from peak_trade.portfolio import marks
from peak_trade.portfolio.ledger import LedgerTotals, RunMarks

if TYPE_CHECKING:
    from peak_trade.execution.engine import BarOutcome, QuietRun, TradingEngine

__all__ = ["BatchTrader", "TradedBar", "TradedBars"]

Ints = npt.NDArray[np.int64]
Row = list[int]  # a row of the loop's events or quiet runs, as Python ints
_EPOCH = date(1970, 1, 1).toordinal()
_LOW = 2**64 - 1
_MAX_PLACES = 30  # money steps of 10^-30 still leave 10^8 of room below 2^127 for 10^12 EUR
_MONEY = ("start", "min_cost", "max_order", "max_exposure", "max_daily_loss")
_S = {name: i for i, name in enumerate(kernel.SETTING_FIELDS)}
_F = {name: i for i, name in enumerate(kernel.STATE_FIELDS)}
_E = {name: i for i, name in enumerate(kernel.EVENT_FIELDS)}
_E_CASH = _E["cash"]
_E_CASH_PLACES = _E["cash_places"]
_E_EQUITY = _E["equity"]
_E_EQUITY_PLACES = _E["equity_places"]
_E_FEE = _E["fee"]
_E_FILL_CLOSED = _E["fill_closed"]
_E_FILL_LOTS = _E["fill_lots"]
_E_FILL_TICK = _E["fill_tick"]
_E_MARKET_TICK = _E["market_tick"]
_E_ORDER_FILLED = _E["order_filled"]
_E_ORDER_LOTS = _E["order_lots"]
_E_ORDER_SEQUENCE = _E["order_sequence"]
_E_PEAK = _E["peak"]
_E_PEAK_PLACES = _E["peak_places"]
_E_POSITION = _E["position"]
_E_PREVIOUS_TARGET = _E["previous_target"]
_E_REALIZED = _E["realized"]
_E_ROW = _E["row"]
_E_TARGET = _E["target"]
_POWERS = [10**k for k in range(80)]


def _put_wide(values: Ints, at: int, value: int) -> None:
    """Store a wide integer in two int64 slots (its high and low 64 bits)."""
    if not -(2**127) <= value < 2**127:
        raise OverflowError(f"{value} does not fit in 128 bits")
    values[at], values[at + 1] = value >> 64, (value & _LOW) - ((value & _LOW) >> 63 << 64)


def _get_wide(values: Ints | Row, at: int) -> int:
    """Return the wide integer in two int64 slots."""
    return (int(values[at]) << 64) | (int(values[at + 1]) & _LOW)


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


class BatchTrader:
    """Runs the compiled loop for one engine; `for_engine` says whether it can."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        instrument = engine.rules.instrument
        self._lot, self._tick = instrument.lot_decimals, instrument.price_decimals
        self._fee_places = engine.rules.rates[5]
        venue = engine.pipeline.venue
        assert isinstance(venue, ShadowOrderExecutor)  # noqa: S101 - for_engine made sure
        self._venue = venue
        self._queued: OrderRequest | None = None  # the market order waiting for the next open
        self._queued_tracked = False  # whether the pipeline's state table holds it

    @classmethod
    def for_engine(cls, engine: TradingEngine) -> BatchTrader | None:
        """Return a trader for `engine`, or None where its venue or guard is not the loop's."""
        venue = engine.pipeline.venue
        if not isinstance(venue, ShadowOrderExecutor) or venue.fill_price == "book":
            return None
        if not engine.pipeline.safety_guard.permits(venue.venue_action):
            return None
        return cls(engine)

    def _ready(self) -> bool:
        """Return True when the engine's state now lets the loop trade."""
        engine = self.engine
        risk = engine.pipeline.risk_limits
        if risk is not None and (risk.state is not TradingState.ACTIVE or risk.is_replaying):
            return False
        if engine.held is not None or set(engine.ledger.positions) - {engine.symbol}:
            return False
        if engine.ledger.last_price(engine.symbol) is None:
            return False
        pending = engine.pipeline.venue.pending
        return len(pending) <= 1 and all(
            o.order_type is OrderType.MARKET and o.symbol == engine.symbol for o in pending
        )

    def settings(self) -> tuple[Ints, int] | None:
        """Return the loop's settings and money places now, or None where it cannot trade."""
        if not self._ready():
            return None
        values = _limits(self.engine)
        money_places = max(
            self._lot + self._tick + self._fee_places,
            *(decimal_places(v) for k, v in values.items() if v is not None and k in _MONEY),
        )
        if money_places > _MAX_PLACES:
            return None
        try:
            return _settings(self.engine, values, money_places), money_places
        except ValueError:  # a minimum finer than the lot or money steps
            return None

    def trade(
        self, columns: BarColumns, targets: Ints, closes: Ints, days: Ints, start: int
    ) -> Generator[QuietRun | BarOutcome | TradedBars, None, tuple[int, bool]]:
        """Trade rows `start`.. of `columns` in the loop; yield what the engine yields, and
        return the row it stopped before (the length when it traded them all) and False if
        the engine's state kept it from starting at all."""
        prepared = self.settings()
        if prepared is None:
            return start, False
        settings, money_places = prepared
        opens = price_ticks(columns.open[: len(targets)], self._tick)
        state = self._load(money_places)
        size = len(targets) - start
        events = np.empty((size, len(kernel.EVENT_FIELDS)), dtype=np.int64)
        quiet = np.empty((size, 8), dtype=np.int64)
        _, row, n_events, n_quiet = kernel.run_batch(
            settings, state, opens, closes, days, targets, start, events, quiet
        )
        view = _View(self, money_places)
        if self.engine.traded_blocks:
            block = view.block(columns, closes, days, events[:n_events], quiet[:n_quiet], row)
            if block.items:  # stopped before its first row: nothing to hand on
                yield block
        else:
            yield from self._emit(view, columns, closes, days, events[:n_events], quiet[:n_quiet])
        self._store(state, money_places, row - start)
        return row, True

    # --- the loop's results as the engine's ----------------------------------------------------

    def _emit(
        self,
        view: _View,
        columns: BarColumns,
        closes: Ints,
        days: Ints,
        events: Ints,
        quiet: Ints,
    ) -> Iterator[QuietRun | BarOutcome]:
        """Yield the quiet runs and traded bars in row order, the ledger showing each one's
        cash, position, last price and peak as it is yielded."""
        k, runs = 0, quiet.tolist()
        for event in events.tolist():
            row = event[_E_ROW]
            while k < len(runs) and runs[k][0] < row:
                yield view.quiet_run(columns, closes, runs[k])
                k += 1
            yield view.outcome(columns, closes, days, event)
        for run in runs[k:]:
            yield view.quiet_run(columns, closes, run)

    # --- the account into the loop's state and back --------------------------------------------

    def _load(self, money_places: int) -> Ints:
        engine, ledger = self.engine, self.engine.ledger
        totals, symbol = ledger.totals(), engine.symbol
        state = np.zeros(len(kernel.STATE_FIELDS), dtype=np.int64)
        held = ledger.position_state(symbol)
        wide = {
            "cash": totals.cash,
            "basis": held.cost_basis,
            "fees": totals.fees_paid,
            "realized": totals.realized_pnl,
            "peak": totals.peak_equity,
            "max_drawdown": totals.max_drawdown,
            "pct_drawdown": totals.max_drawdown_at[0],
            "pct_peak": totals.max_drawdown_at[1],
            "day_start": totals.day_start_equity,
        }
        for name, value in wide.items():
            _put_wide(state, _F[name], steps(value, money_places))
        for name in ("cash", "peak", "max_drawdown", "pct_drawdown", "pct_peak", "day_start"):
            state[_F[f"{name}_places"]] = decimal_places(wide[name])
        state[_F["realized_places"]] = decimal_places(totals.realized_pnl)
        state[_F["position"]] = steps(held.quantity, self._lot)
        state[_F["day"]] = -1 if totals.day is None else totals.day.toordinal() - _EPOCH
        state[_F["bars_marked"]] = totals.bars_marked
        state[_F["bars_in_market"]] = totals.bars_in_market
        state[_F["trades"]] = totals.trades
        price = ledger.last_price(symbol)
        state[_F["last_tick"]] = 0 if price is None else steps(price, self._tick)
        state[_F["target"]] = engine.target
        state[_F["sequence"]] = engine.order_sequence
        pending = engine.pipeline.venue.pending
        self._queued = pending[0] if pending else None
        self._queued_tracked = True  # sent through the pipeline, or taken into it by `_store`
        if self._queued is not None:
            state[_F["pending_lots"]] = steps(self._queued.signed_quantity, self._lot)
        return state

    def _amount(self, values: Ints | Row, at: int, money_places: int, places: int) -> Decimal:
        """Return a wide amount in money steps as the Decimal with `places` decimals."""
        steps_ = _get_wide(values, at)
        if places >= money_places:
            return Decimal(steps_).scaleb(-money_places)
        return Decimal(steps_ // _POWERS[money_places - places]).scaleb(-places)

    def _store(self, state: Ints, money_places: int, rows: int) -> None:
        engine, ledger = self.engine, self.engine.ledger
        before = ledger.totals()
        traded = int(state[_F["trades"]]) > 0
        fee_places = self._lot + self._tick + self._fee_places

        def amount(name: str, places: int) -> Decimal:
            return self._amount(state, _F[name], money_places, places)

        day = int(state[_F["day"]])
        ledger.take_totals(
            LedgerTotals(
                cash=amount("cash", int(state[_F["cash_places"]])),
                fees_paid=amount(
                    "fees", max(decimal_places(before.fees_paid), fee_places if traded else 0)
                ),
                realized_pnl=amount("realized", int(state[_F["realized_places"]])),
                trades=int(state[_F["trades"]]),
                peak_equity=amount("peak", int(state[_F["peak_places"]])),
                max_drawdown=amount("max_drawdown", int(state[_F["max_drawdown_places"]])),
                max_drawdown_at=(
                    amount("pct_drawdown", int(state[_F["pct_drawdown_places"]])),
                    amount("pct_peak", int(state[_F["pct_peak_places"]])),
                ),
                bars_marked=int(state[_F["bars_marked"]]),
                bars_in_market=int(state[_F["bars_in_market"]]),
                day=None if day < 0 else date.fromordinal(day + _EPOCH),
                day_start_equity=amount("day_start", int(state[_F["day_start_places"]])),
            )
        )
        if traded:
            ledger.take_position(
                engine.symbol,
                Decimal(int(state[_F["position"]])).scaleb(-self._lot),
                amount("basis", self._lot + self._tick),
            )
        ledger.take_price(engine.symbol, Decimal(int(state[_F["last_tick"]])).scaleb(-self._tick))
        engine.take_batch(int(state[_F["target"]]), int(state[_F["sequence"]]), rows)
        queued = self._queued if int(state[_F["pending_lots"]]) else None
        if queued is not None and not self._queued_tracked:  # the engine may fill it itself
            engine.pipeline.track_sent([OrderExecutionResult(queued, OrderStatus.SUBMITTED)])
        self._venue.take_pending([] if queued is None else [queued])


def _limits(engine: TradingEngine) -> dict[str, Decimal | None]:
    """Return the risk limits the loop checks (None: not checked) and the amounts it counts."""
    values: dict[str, Decimal | None] = {
        "start": engine.ledger.start_balance,
        "min_cost": engine.rules.instrument.min_order_cost,
        "max_order": None,
        "max_exposure": None,
        "max_daily_loss": None,
        "max_drawdown_pct": None,
    }
    risk = engine.pipeline.risk_limits
    if risk is None or not risk.config.enabled:
        return values
    config = risk.config
    exposures = [
        v
        for v in (config.max_symbol_exposure_notional, config.max_total_exposure_notional)
        if v is not None
    ]
    losses = [] if config.max_daily_loss_abs is None else [config.max_daily_loss_abs]
    if config.max_daily_loss_pct is not None:
        losses.append(engine.ledger.start_balance * config.max_daily_loss_pct / 100)
    values["max_order"] = config.max_order_notional
    values["max_exposure"] = min(exposures) if exposures else None
    values["max_daily_loss"] = min(losses) if losses else None
    values["max_drawdown_pct"] = config.max_drawdown_pct
    return values


def _settings(engine: TradingEngine, values: dict[str, Decimal | None], money_places: int) -> Ints:
    rules, instrument = engine.rules, engine.rules.instrument
    fraction, fraction_places, slippage, slippage_places, fee, fee_places = rules.rates
    venue = engine.pipeline.venue
    fill_at_close = isinstance(venue, ShadowOrderExecutor) and venue.fill_price == "close"
    settings = np.zeros(len(kernel.SETTING_FIELDS), dtype=np.int64)
    plain = {
        "money_places": money_places,
        "lot_places": instrument.lot_decimals,
        "price_places": instrument.price_decimals,
        "fraction": fraction,
        "fraction_places": fraction_places,
        "slippage": slippage,
        "slippage_places": slippage_places,
        "fee": fee,
        "fee_places": fee_places,
        "allow_short": int(rules.allow_short),
        "fill_at_close": int(fill_at_close),
        "min_lots": steps(instrument.min_order_size, instrument.lot_decimals),
        "min_cost_steps": steps(instrument.min_order_cost, money_places),
        "risk_on": 1,
        "max_drawdown_pct": -1,
        "pct_places": 0,
    }
    for name, value in plain.items():
        settings[_S[name]] = value
    for name in ("max_order", "max_exposure", "max_daily_loss"):
        limit = values[name]
        _put_wide(
            settings, _S[f"{name}_steps"], -1 if limit is None else steps(limit, money_places)
        )
    pct = values["max_drawdown_pct"]
    if pct is not None:
        places = decimal_places(pct)
        settings[_S["max_drawdown_pct"]] = steps(pct, places)
        settings[_S["pct_places"]] = places
    return settings


class _View:
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
        self.lot, self.tick, self.quote = trader._lot, trader._tick, instrument.quote
        self.price_step = instrument.price_step
        self.fee_places = trader._lot + trader._tick + trader._fee_places
        self.guard = engine.pipeline.safety_guard
        self.action = engine.pipeline.venue.venue_action
        self.uncounted: list[OrderFill] = []  # fills the pipeline has not counted yet

    def _amount(self, values: Row, at: int, places: int) -> Decimal:
        return self.trader._amount(values, at, self.money_places, places)

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

        row = int(event[_E_ROW])
        bar = columns.bar(row)
        day = date.fromordinal(int(days[row]) + _EPOCH)
        fills: list[OrderFill] = []
        results: list[OrderExecutionResult] = []
        trader, pipeline = self.trader, self.engine.pipeline
        filled_at_close = bool(event[_E_ORDER_FILLED])
        if event[_E_FILL_LOTS] and not filled_at_close:
            queued, trader._queued = trader._queued, None
            if queued is None:  # pragma: no cover - the loop fills only what it was given
                raise InvariantError("the compiled loop filled an order nobody queued")
            done = self._filled(queued, event, bar.time, day)
            pipeline.track_filled(done)
            results.append(done)
        target = int(event[_E_TARGET])
        decision = SizingDecision(wanted_state(target, self.engine.rules))
        sent: ExecutionResult | None = None
        if event[_E_ORDER_LOTS]:
            order = self._order(event, bar.time, filled_at_close)
            self.guard.check(self.action, bar.time, order.client_id)
            if filled_at_close:
                submitted = self._filled(order, event, bar.time, day)
            else:
                submitted = OrderExecutionResult(order, OrderStatus.SUBMITTED)
                trader._queued, trader._queued_tracked = order, True
            pipeline.track_sent([submitted])
            results.append(submitted)
            decision = SizingDecision(decision.target, (order,))
            sent = ExecutionResult(ExecutionStatus.SUCCESS, executed=(submitted,))
        fills.extend(r.fill for r in results if r.fill is not None)
        self.target = target
        self.cash = self._amount(event, _E_CASH, int(event[_E_CASH_PLACES]))
        if self.traded or fills:
            self.traded = True
            self.position = Decimal(int(event[_E_POSITION])).scaleb(-self.lot)
        self._show(int(closes[row]), self._amount(event, _E_PEAK, int(event[_E_PEAK_PLACES])))
        previous = int(event[_E_PREVIOUS_TARGET])
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
        k, runs = 0, quiet.tolist()
        for event in events.tolist():
            row = event[_E_ROW]
            while k < len(runs) and runs[k][0] < row:
                run = self.quiet_run(columns, closes, runs[k], shown=False)
                items.append((run, self.cash, self.position))
                k += 1
            items.append(self.traded_bar(columns.time(row), days, event))
        for rest in runs[k:]:
            run = self.quiet_run(columns, closes, rest, shown=False)
            items.append((run, self.cash, self.position))
        self.engine.pipeline.count_fills(self.uncounted)
        return TradedBars(columns, tuple(items), stop)

    def traded_bar(self, time: datetime, days: Ints, event: Row) -> TradedBar:
        """Return a traded bar for the journal, the ledger's day PnL booked."""
        row = int(event[_E_ROW])
        day = date.fromordinal(int(days[row]) + _EPOCH)
        trader = self.trader
        fills: list[OrderFill] = []
        filled_at_close = bool(event[_E_ORDER_FILLED])
        if event[_E_FILL_LOTS] and not filled_at_close:
            queued, trader._queued = trader._queued, None
            if queued is None:  # pragma: no cover - the loop fills only what it was given
                raise InvariantError("the compiled loop filled an order nobody queued")
            fill = self._fill(queued, event, time, day)
            fills.append(fill)
            if trader._queued_tracked:  # in the state table: settled there, and counted
                result = OrderExecutionResult(queued, OrderStatus.FILLED, fill=fill)
                self.engine.pipeline.track_filled(result)
            else:
                self.uncounted.append(fill)
        order, safety = None, None
        if event[_E_ORDER_LOTS]:
            order = self._order(event, time, filled_at_close)
            safety = self.guard.approve(self.action, time, order.client_id)
            if filled_at_close:
                fills.append(self._fill(order, event, time, day))
                self.uncounted.append(fills[-1])
            else:
                trader._queued, trader._queued_tracked = order, False
        self.target = int(event[_E_TARGET])
        self.cash = self._amount(event, _E_CASH, int(event[_E_CASH_PLACES]))
        if self.traded or fills:
            self.traded = True
            self.position = Decimal(int(event[_E_POSITION])).scaleb(-self.lot)
        equity = self._amount(event, _E_EQUITY, int(event[_E_EQUITY_PLACES]))
        peak = self._amount(event, _E_PEAK, int(event[_E_PEAK_PLACES]))
        return TradedBar(
            row,
            time,
            self.target,
            int(event[_E_PREVIOUS_TARGET]),
            self.cash,
            self.position,
            equity,
            peak - equity,
            order,
            safety,
            tuple(fills),
        )

    def _order(self, event: Row, ts: datetime, filled_at_close: bool) -> OrderRequest:
        """Return the order of a traded bar, as sizing words it."""
        lots = int(event[_E_ORDER_LOTS])
        position = int(event[_E_POSITION])
        held = position - lots if filled_at_close else position  # before the order
        if held:
            reason = f"exit_{'long' if held > 0 else 'short'}"
        else:
            reason = f"entry_{'long' if lots > 0 else 'short'}"
        return OrderRequest(
            self.engine.client_id(ts, int(event[_E_ORDER_SEQUENCE])),
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
        fee = self._amount(event, _E_FEE, self.fee_places)
        fill = OrderFill(
            client_id=order.client_id,
            symbol=self.symbol,
            side=order.side,
            quantity=order.quantity,
            price=self._price(int(event[_E_FILL_TICK])),
            fee=fee,
            fee_currency=self.quote,
            ts_event=ts,
            market_price=self._price(int(event[_E_MARKET_TICK])),
        )
        net = _get_wide(event, _E_REALIZED) - _get_wide(event, _E_FEE)
        scale = 10 ** (self.money_places - self.fee_places)
        self.ledger.add_day_pnl(day, Decimal(net // scale).scaleb(-self.fee_places))
        # as the ledger adds them: an opening fill's realized PnL is ZERO itself
        closed = bool(event[_E_FILL_CLOSED])
        places = self.lot + self.tick
        self.realized += self._amount(event, _E_REALIZED, places) if closed else ZERO
        self.fees += fee
        return fill
