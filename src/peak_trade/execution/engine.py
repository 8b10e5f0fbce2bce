"""The per-bar engine shared by sessions and backtests.

For each closed bar, in this order: the venue works orders queued on earlier bars (fills at
this bar's open), the ledger is marked at the close, the strategy returns its target, sizing
compares target and actual position, and any orders go through the pipeline. A blocked or
rejected order is simply planned again on the next bar while target and position still differ.

Most bars are quiet: nothing fills, the target stays and the position already has its state,
so sizing has nothing to plan. `step` returns None for them without building an outcome;
`on_bar` always returns one. Both run the same rules in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from peak_trade.core.errors import InvariantError, PeakTradeError, StrategyError
from peak_trade.core.money import round_half_even, to_decimal
from peak_trade.core.types import Bar, Instrument
from peak_trade.execution.pipeline import ExecutionContext, ExecutionPipeline, ExecutionResult
from peak_trade.orders.base import OrderExecutionResult, OrderFill
from peak_trade.orders.sizing import (
    SizingDecision,
    SizingRules,
    plan_orders,
    position_state,
    wanted_state,
)
from peak_trade.portfolio.ledger import Ledger
from peak_trade.strategies.base import Strategy

__all__ = ["BarOutcome", "TradingEngine"]


@dataclass(frozen=True, slots=True)
class BarOutcome:
    """What happened on one bar."""

    bar: Bar
    target: int
    previous_target: int
    decision: SizingDecision
    result: ExecutionResult | None
    venue_results: tuple[OrderExecutionResult, ...] = ()
    fills: tuple[OrderFill, ...] = field(default=())

    @property
    def target_changed(self) -> bool:
        """Return True when the strategy changed its target on this bar."""
        return self.target != self.previous_target


class TradingEngine:
    """Strategy, sizing, pipeline and ledger for one symbol, driven one closed bar at a time."""

    def __init__(
        self,
        strategy: Strategy[Any],
        pipeline: ExecutionPipeline,
        ledger: Ledger,
        rules: SizingRules,
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

    @property
    def target(self) -> int:
        """Return the strategy's latest target."""
        return self._target

    def use_instrument(self, instrument: Instrument) -> None:
        """Trade with the exchange's rules for the symbol (read once a feed has them)."""
        if instrument.symbol != self.symbol:
            raise InvariantError(f"instrument {instrument.symbol} does not match {self.symbol}")
        self.rules = replace(self.rules, instrument=instrument)
        self._price_step = instrument.price_step
        venue = self.pipeline.venue
        if hasattr(venue, "use_instrument"):
            venue.use_instrument(instrument)

    def warm_up(self, bars: list[Bar]) -> None:
        """Show history to the strategy without trading, and mark the ledger at the last close."""
        for bar in bars:
            self._target = self._ask_strategy(bar)
        if bars:
            self.ledger.mark(self.symbol, self._price(bars[-1].close), bars[-1].time)

    def on_bar(self, bar: Bar) -> BarOutcome:
        """Process one closed bar and return what happened."""
        outcome = self.step(bar)
        if outcome is None:
            target = self._target
            return BarOutcome(bar, target, target, SizingDecision(self._wanted(target)), None)
        return outcome

    def step(self, bar: Bar) -> BarOutcome | None:
        """Process one closed bar; return what happened, or None if the bar was quiet."""
        self.bars_seen += 1
        queued = self.pipeline.process_bar(bar)
        fills = self._book(queued) if queued else []
        close = self._price(bar.close)
        self.ledger.mark(self.symbol, close, bar.time)
        previous, self._target = self._target, self._ask_strategy(bar)
        position = self.ledger.position(self.symbol)
        if (
            not queued
            and self._target == previous
            and self._wanted(previous) == position_state(position)
        ):
            return None
        decision = plan_orders(
            target=self._target,
            position=position,
            equity=self.ledger.equity,
            cash=self.ledger.cash,
            price=close,
            rules=self.rules,
            next_client_id=lambda: self._next_client_id(bar),
            ts=bar.time,
        )
        result = None
        sent: tuple[OrderExecutionResult, ...] = ()
        if decision.orders:
            context = ExecutionContext(bar, self.ledger.snapshot(), {self.symbol: close})
            result = self.pipeline.execute_with_safety(decision.orders, context)
            sent = result.executed
            fills += self._book(sent)
        return BarOutcome(
            bar, self._target, previous, decision, result, (*queued, *sent), tuple(fills)
        )

    def _ask_strategy(self, bar: Bar) -> int:
        try:
            target = self.strategy.on_bar(bar)
        except PeakTradeError:
            raise
        except Exception as error:
            raise StrategyError(
                f"strategy {self.strategy.key} failed on the bar of {bar.time.isoformat()}: "
                f"{type(error).__name__}: {error}"
            ) from error
        if target not in (-1, 0, 1):
            raise StrategyError(
                f"strategy {self.strategy.key} returned target {target!r} on the bar of "
                f"{bar.time.isoformat()}; expected -1, 0 or 1"
            )
        return target

    def _book(
        self, results: list[OrderExecutionResult] | tuple[OrderExecutionResult, ...]
    ) -> list[OrderFill]:
        fills = [result.fill for result in results if result.fill is not None]
        for fill in fills:
            self.ledger.apply_trade(
                fill.symbol, fill.signed_quantity, fill.price, fill.fee, fill.ts_event
            )
        return fills

    def _price(self, value: float) -> Decimal:
        return round_half_even(to_decimal(value), self._price_step)

    def _wanted(self, target: int) -> int:
        return wanted_state(target, self.rules)

    def _next_client_id(self, bar: Bar) -> str:
        self._order_sequence += 1
        return f"{self._id_prefix}-{bar.time:%Y%m%dT%H%M}-{self._order_sequence:06d}"
