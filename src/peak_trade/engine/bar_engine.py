"""The per-bar engine shared by sessions and backtests.

For each closed bar, in this order: the venue works orders queued on earlier bars (fills at
this bar's open), the ledger is marked at the close, the strategy returns its target, sizing
compares target and actual position, and any orders go through the pipeline. A blocked or
rejected order is simply planned again on the next bar while target and position still differ.

Most bars are quiet: nothing fills, the target stays and the position already has its state,
so sizing has nothing to plan. `step` returns None for them without building an outcome;
`on_bar` always returns one. `run_columns` takes many bars at once: it asks the strategy for
every bar first (its target depends on the bars alone) and trades the batch in the compiled
loop (a `BatchLoop`, given by the wiring) where the setup is the plain one; a bar the loop
hands back, and every bar of other setups, is traded here: each run of quiet bars marked in one go
(`Ledger.mark_run`), the other bars stepped one by one, exactly as `step` would.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.compiled import python_of
from peak_trade.core.errors import InvariantError
from peak_trade.core.money import price_ticks, round_half_even, tick_price, to_decimal
from peak_trade.core.types import Bar, Instrument
from peak_trade.engine.outcomes import AccountMark, BarOutcome, BatchLoop, QuietRun, TradedBars
from peak_trade.engine.pipeline import ExecutionContext, ExecutionPipeline
from peak_trade.engine.targets import checked_target, column_targets, is_quiet
from peak_trade.live.risk_limits import TradingState
from peak_trade.orders.base import OrderExecutionResult, OrderFill, order_id
from peak_trade.orders.sizing import (
    SizingDecision,
    SizingRules,
    plan_orders,
    position_state,
    wanted_state,
)
from peak_trade.portfolio.account import AccountSnapshot
from peak_trade.portfolio.ledger import Ledger
from peak_trade.strategies.base import Strategy

__all__ = ["BatchLoops", "TradingEngine"]

_is_quiet = python_of(is_quiet)  # the rule as written, on the engine's Decimal position

_SECONDS_PER_DAY = 86_400


# Builds the batch loop for an engine, or None where the engine's setup is not one it knows.
BatchLoops = Callable[["TradingEngine"], BatchLoop | None]


class TradingEngine:
    """Strategy, sizing, pipeline and ledger for one symbol, driven one closed bar at a time."""

    def __init__(
        self,
        strategy: Strategy[Any],
        pipeline: ExecutionPipeline,
        ledger: Ledger,
        rules: SizingRules,
        batch_loops: BatchLoops | None = None,
    ) -> None:
        self.strategy = strategy
        self.pipeline = pipeline
        self.ledger = ledger
        self.rules = rules
        self.symbol = rules.instrument.symbol
        self.bars_seen = 0
        self._order_sequence = 0
        self._target = 0
        self._id_prefix = f"{rules.instrument.base}{rules.instrument.quote}"
        self._price_step = rules.instrument.price_step
        # (target, trading state) of an order the trading state refused: held back until
        # either changes, as the same order would be refused again
        self._held: tuple[int, TradingState] | None = None
        self._peak_before = ledger.peak_equity  # before the last bar `_step` marked
        # Column batches go through the compiled loop where the setup allows it (`batch`);
        # False: always bar by bar (the parity tests compare the two).
        self.compiled_batches = True
        self.compiled_bars = 0  # of `bars_seen`, those the compiled loop traded
        # True: the compiled loop yields each batch whole (`batch.TradedBars`), for a caller
        # that counts and journals it in bulk; False: quiet runs and outcomes one by one.
        self.traded_blocks = False
        self._batch_loops = batch_loops  # None: every bar is traded here
        self._batch: BatchLoop | None = None
        self._batch_built = False

    @property
    def price_decimals(self) -> int:
        """Return the decimals of the traded instrument's prices (marks are whole ticks)."""
        return self.rules.instrument.price_decimals

    @property
    def target(self) -> int:
        """Return the strategy's latest target."""
        return self._target

    @property
    def held(self) -> tuple[int, TradingState] | None:
        """Return the (target, trading state) of an order the trading state refused, held back
        until either changes; None if none is."""
        return self._held

    @property
    def order_sequence(self) -> int:
        """Return the number of the last order planned."""
        return self._order_sequence

    def take_batch(
        self, target: int, order_sequence: int, bars: int, held: tuple[int, TradingState] | None
    ) -> None:
        """Carry on from a compiled batch of `bars` bars that left this target, order number
        and order held back by the trading state (`held`)."""
        self._target, self._order_sequence, self._held = target, order_sequence, held
        self.bars_seen += bars
        self.compiled_bars += bars

    def use_instrument(self, instrument: Instrument) -> None:
        """Trade with the exchange's rules for the symbol (read once a feed has them)."""
        if instrument.symbol != self.symbol:
            raise InvariantError(f"instrument {instrument.symbol} does not match {self.symbol}")
        self.rules = replace(self.rules, instrument=instrument)
        self._price_step = instrument.price_step
        self._batch_built = False  # built again for the new rules
        self.pipeline.venue.use_instrument(instrument)

    def warm_up(self, bars: list[Bar]) -> None:
        """Show history to the strategy without trading, and mark the ledger at the last close."""
        for bar in bars:
            self._target = self.ask_strategy(bar)
        if bars:
            self.ledger.mark(self.symbol, self.price_of(bars[-1].close), bars[-1].time)

    def on_bar(self, bar: Bar) -> BarOutcome:
        """Process one closed bar and return what happened."""
        return self.step(bar) or self.quiet_outcome(bar)

    def quiet_outcome(self, bar: Bar) -> BarOutcome:
        """Return the outcome of a bar just found quiet: the target kept, nothing planned."""
        target, decision = self._target, SizingDecision(self._wanted(self._target))
        return BarOutcome(bar, target, target, decision, None, self.account())

    def step(self, bar: Bar) -> BarOutcome | None:
        """Process one closed bar; return what happened, or None if the bar was quiet."""
        return self._step(bar, lambda: self.ask_strategy(bar))

    def run_columns(self, columns: BarColumns) -> Iterator[QuietRun | BarOutcome | TradedBars]:
        """Process many closed bars; yield each run of quiet bars and each other bar's outcome
        (with `traded_blocks`, what the compiled loop traded as whole batches). The kill
        switch is read once, at the first bar (`LiveRiskLimits.kill_switch_read_once`)."""
        risk = self.pipeline.risk_limits
        if not len(columns) or risk is None:
            yield from self._run_batch(columns)
            return
        with risk.kill_switch_read_once(columns.time(0)):
            yield from self._run_batch(columns)

    def _run_batch(self, columns: BarColumns) -> Iterator[QuietRun | BarOutcome | TradedBars]:
        targets, failure = column_targets(self.strategy, columns)
        ticks = price_ticks(columns.close[: len(targets)], self.rules.instrument.price_decimals)
        days = columns.seconds[: len(targets)] // _SECONDS_PER_DAY  # each bar's UTC day
        batch = self._batch_trader()
        i, n = 0, len(targets)
        if batch is not None and n:
            i = yield from self._run_compiled(batch, columns, targets, ticks, days)
        yield from self._run_rows(columns, targets, ticks, days, i, n)
        if failure is not None:  # the strategy failed on the next row: fail there, as step would
            bar = columns.bar(len(targets))
            self._step(bar, lambda: checked_target(self.strategy, bar, failure))

    def _run_compiled(
        self,
        batch: BatchLoop,
        columns: BarColumns,
        targets: npt.NDArray[np.int64],
        ticks: npt.NDArray[np.int64],
        days: npt.NDArray[np.int64],
    ) -> Generator[QuietRun | BarOutcome | TradedBars, None, int]:
        """Trade the batch in the compiled loop, stepping here each bar it hands back; return
        the row from which the engine's state keeps the loop from trading at all."""
        i, n = 0, len(targets)
        both = (batch.opens(columns, n), ticks)
        while i < n:
            start = i
            i, ready = yield from batch.trade(columns, targets, both, days, i)
            if not ready:
                break
            if i == start:  # its first bar is not plain (an order denied again and again?):
                i = self._next_change(targets, i)  # bar by bar until the target changes
                yield from self._run_rows(columns, targets, ticks, days, start, i)
            elif i < n:  # a bar the loop does not trade plainly: stepped the ordinary way
                yield self._step_row(columns, targets, ticks, i)
                i += 1
        return i

    def _batch_trader(self) -> BatchLoop | None:
        if not self.compiled_batches or self._batch_loops is None:
            return None
        if not self._batch_built:
            self._batch, self._batch_built = self._batch_loops(self), True
        return self._batch

    @staticmethod
    def _next_change(targets: npt.NDArray[np.int64], row: int) -> int:
        """Return the first row after `row` whose target differs from its own (or the end)."""
        later = np.flatnonzero(targets[row + 1 :] != targets[row])
        return row + 1 + int(later[0]) if later.size else len(targets)

    def _run_rows(
        self,
        columns: BarColumns,
        targets: npt.NDArray[np.int64],
        ticks: npt.NDArray[np.int64],
        days: npt.NDArray[np.int64],
        i: int,
        stop: int,
    ) -> Iterator[QuietRun | BarOutcome]:
        """Trade rows `i` to `stop` bar by bar, each run of quiet bars marked at once."""
        # the rows whose target differs from the row before: a quiet run ends at the next one
        changes = (np.flatnonzero(targets[1:stop] != targets[: stop - 1]) + 1).tolist()
        while i < stop:
            j = i
            if self.is_quiet(targets[i], self._target, queued=bool(self.pipeline.venue.pending)):
                at = bisect_right(changes, i)
                j = changes[at] if at < len(changes) else stop
                yield self._mark_quiet(columns, ticks, days, i, j)
            if j < stop:
                yield self._step_row(columns, targets, ticks, j)
            i = j + 1

    def _step_row(
        self,
        columns: BarColumns,
        targets: npt.NDArray[np.int64],
        ticks: npt.NDArray[np.int64],
        row: int,
    ) -> QuietRun | BarOutcome:
        close = tick_price(ticks[row], self._price_step)  # = self.price_of(bar.close)
        outcome = self._step(columns.bar(row), partial(int, targets[row]), close)
        return outcome if outcome is not None else self.quiet_row(columns, row)

    def _step(
        self, bar: Bar, ask: Callable[[], int], close: Decimal | None = None
    ) -> BarOutcome | None:
        queued, fills = self.open_bar(bar)
        close = self.price_of(bar.close) if close is None else close
        self._peak_before = self.ledger.peak_equity
        self.ledger.mark(self.symbol, close, bar.time)
        previous = self.turn(ask)
        if self.is_quiet(self._target, previous, queued=bool(queued)):
            return None
        return self.trade(bar, close, previous, (queued, fills))

    def open_bar(self, bar: Bar) -> tuple[list[OrderExecutionResult], list[OrderFill]]:
        """Begin a bar: count it, let the risk layer read its kill switch, fill the orders
        queued on earlier bars at its open and book them; return the venue's results and the
        fills. (A portfolio marks the ledger itself once every leg's bar is open.)"""
        self.bars_seen += 1
        self._watch(bar.time)
        queued = self.pipeline.process_bar(bar)
        return queued, (self._book(queued) if queued else [])

    def turn(self, ask: Callable[[], int]) -> int:
        """Take the strategy's target for the bar just marked; return the one before."""
        previous, self._target = self._target, ask()
        return previous

    def trade(
        self,
        bar: Bar,
        close: Decimal,
        previous: int,
        opened: tuple[list[OrderExecutionResult], list[OrderFill]],
        account: AccountSnapshot | None = None,
    ) -> BarOutcome:
        """Plan the orders that bring the position to the target at `close` and send them
        through the pipeline; return what happened on the bar. `account` is the account the
        plan and the risk layer see (a portfolio's, with its orders queued on this bar);
        the ledger's by default."""
        queued, fills = opened
        snapshot = self.ledger.snapshot() if account is None else account
        decision = plan_orders(
            target=self._target,
            position=self.ledger.position(self.symbol),
            equity=snapshot.equity,
            cash=snapshot.cash,
            price=close,
            rules=self.rules,
            next_client_id=lambda: self._next_client_id(bar),
            ts=bar.time,
        )
        result = None
        sent: tuple[OrderExecutionResult, ...] = ()
        if decision.orders:
            context = ExecutionContext(bar, snapshot, {self.symbol: close})
            result = self.pipeline.execute_with_safety(decision.orders, context)
            sent = result.executed
            fills = fills + self._book(sent)
            check, self._held = result.risk_check, None
            if check is not None and check.refused_by_state:
                self._held = (self._target, check.state)
        mark, venue_results = self.account(), (*queued, *sent)
        return BarOutcome(
            bar, self._target, previous, decision, result, mark, venue_results, tuple(fills)
        )

    def _watch(self, ts: datetime) -> None:
        """Let the risk layer read its kill switch at this bar (once per column batch)."""
        risk = self.pipeline.risk_limits
        if risk is not None:
            risk.watch(ts)

    def is_quiet(
        self, target: int, previous: int, *, queued: bool, position: Decimal | None = None
    ) -> bool:
        """Return True when a bar leaves nothing to do: no fills, same target, and the position
        in its state or its order held back by the trading state."""
        if position is None:
            position = self.ledger.position(self.symbol)
        risk = self.pipeline.risk_limits
        held_back = risk is not None and self._held == (target, risk.state)
        holding = position_state(position)
        return _is_quiet(queued, target, previous, holding, self._wanted(previous), held_back)

    def _mark_quiet(
        self,
        columns: BarColumns,
        ticks: npt.NDArray[np.int64],
        days: npt.NDArray[np.int64],
        start: int,
        stop: int,
    ) -> QuietRun:
        self.bars_seen += stop - start
        peak = self.ledger.peak_equity
        marks = self.ledger.mark_run(
            self.symbol, ticks[start:stop], self._price_step, days[start:stop]
        )
        return QuietRun(columns, start, stop, self._target, marks, peak, self.account())

    def quiet_row(self, columns: BarColumns, row: int) -> QuietRun:
        """Return a bar just found quiet as a run of one."""
        account = self.account()
        return QuietRun(
            columns, row, row + 1, self._target, account.marks, self._peak_before, account
        )

    def account(self) -> AccountMark:
        """Return the account now, at the close of the last bar marked."""
        ledger = self.ledger
        return AccountMark(
            ledger.cash, ledger.position(self.symbol), ledger.equity, ledger.peak_equity
        )

    def ask_strategy(self, bar: Bar) -> int:
        return checked_target(self.strategy, bar, lambda: self.strategy.on_bar(bar))

    def _book(
        self, results: list[OrderExecutionResult] | tuple[OrderExecutionResult, ...]
    ) -> list[OrderFill]:
        fills = [result.fill for result in results if result.fill is not None]
        for fill in fills:
            self.ledger.apply_trade(
                fill.symbol, fill.signed_quantity, fill.price, fill.fee, fill.ts_event
            )
        return fills

    def price_of(self, value: float) -> Decimal:
        """Return a bar price in the instrument's price step."""
        return round_half_even(to_decimal(value), self._price_step)

    def _wanted(self, target: int) -> int:
        return wanted_state(target, self.rules)

    def _next_client_id(self, bar: Bar) -> str:
        self._order_sequence += 1
        return self.client_id(bar.time, self._order_sequence)

    @property
    def id_prefix(self) -> str:
        """Return what every client order id of this engine starts with."""
        return self._id_prefix

    def client_id(self, t: datetime, number: int) -> str:
        """Return the client id of order `number`, decided on the bar of `t`."""
        minute = f"{t.year:04d}{t.month:02d}{t.day:02d}T{t.hour:02d}{t.minute:02d}"  # no strftime
        return order_id(self._id_prefix, minute, number)
