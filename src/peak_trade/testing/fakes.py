"""Typed fakes that implement the ports, so tests need no string patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from peak_trade.core.modes import VenueAction
from peak_trade.core.strategy_params import StrategyParams
from peak_trade.core.types import Bar, Timeframe
from peak_trade.orders.base import OrderExecutionResult, OrderRequest, OrderStatus
from peak_trade.strategies.base import Strategy

__all__ = ["FakeVenue", "ScriptedFeed", "ScriptedParams", "ScriptedStrategy"]


@dataclass
class FakeVenue:
    """A venue that records what it got and answers as scripted.

    `respond` maps each order to its result (default: rejected with "scripted"); `error`, when
    set, is raised by `submit` instead.
    """

    venue_action: VenueAction = VenueAction.SIMULATE
    respond: Callable[[OrderRequest, Bar], OrderExecutionResult] | None = None
    error: Exception | None = None
    submitted: list[OrderRequest] = field(default_factory=list)

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Record the orders and answer with the scripted results."""
        if self.error is not None:
            raise self.error
        self.submitted.extend(orders)
        return [self._answer(order, bar) for order in orders]

    @property
    def pending(self) -> tuple[OrderRequest, ...]:
        """Return no orders: a fake venue never queues any."""
        return ()

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Return nothing; a fake venue never queues orders."""
        return []

    def _answer(self, order: OrderRequest, bar: Bar) -> OrderExecutionResult:
        if self.respond is None:
            return OrderExecutionResult(order, OrderStatus.REJECTED, reason="scripted")
        return self.respond(order, bar)


class ScriptedFeed:
    """A feed that answers each poll from a script: bars, nothing, or an error to raise.

    With `finite=False` it never reports exhaustion, like a live feed between bars.
    """

    def __init__(
        self,
        warmup_bars: list[Bar],
        polls: list[list[Bar] | Exception],
        *,
        symbol: str = "BTC/EUR",
        timeframe: Timeframe | None = None,
        finite: bool = True,
    ) -> None:
        self._warmup = warmup_bars
        self._polls = list(polls)
        self._symbol = symbol
        self._timeframe = timeframe or Timeframe("1m")
        self._finite = finite
        self.poll_count = 0

    @property
    def symbol(self) -> str:
        """Return the symbol."""
        return self._symbol

    @property
    def timeframe(self) -> Timeframe:
        """Return the candle length."""
        return self._timeframe

    @property
    def exhausted(self) -> bool:
        """Return True once a finite script has run out."""
        return self._finite and not self._polls

    def warmup(self, count: int) -> list[Bar]:
        """Return the last `count` warmup bars."""
        return self._warmup[-count:] if count else []

    def poll(self) -> list[Bar]:
        """Return the next scripted answer (nothing once the script is done)."""
        self.poll_count += 1
        if not self._polls:
            return []
        answer = self._polls.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class ScriptedParams(StrategyParams):
    """Targets to return bar by bar (the last one repeats), and the bars needed first."""

    targets: tuple[int, ...] = (0,)
    required: int = 1


class ScriptedStrategy(Strategy[ScriptedParams]):
    """A strategy that returns a prepared sequence of targets."""

    key = "scripted"
    description = "returns prepared targets, for tests"
    params_type = ScriptedParams

    def __init__(self, params: ScriptedParams) -> None:
        super().__init__(params)
        self._calls = 0

    @property
    def required_bars(self) -> int:
        """Return the configured number of bars."""
        return self.params.required

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Return the next scripted target."""
        targets = self.params.targets
        self.target = targets[min(self._calls, len(targets) - 1)]
        self._calls += 1
        return self.target
