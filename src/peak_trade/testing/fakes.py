"""Typed fakes that implement the ports, so tests need no string patches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from peak_trade.core.modes import VenueAction
from peak_trade.core.strategy_params import StrategyParams
from peak_trade.core.types import Bar, Instrument, Timeframe
from peak_trade.data.ports import FeedEvent
from peak_trade.orders.base import (
    JournaledAnswer,
    OrderExecutionResult,
    OrderRequest,
    OrderStatus,
)
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
    instrument: Instrument | None = None  # the rules it was given, if any

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

    def replaying(self, answers: Mapping[str, JournaledAnswer]) -> AbstractContextManager[None]:
        """Return a context that changes nothing: the fake asks no exchange."""
        del answers
        return nullcontext()

    def use_instrument(self, instrument: Instrument) -> None:
        """Keep the rules, for a test to look at."""
        self.instrument = instrument

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
        instrument: Instrument | None = None,
    ) -> None:
        self._warmup = warmup_bars
        self._polls = list(polls)
        self._symbol = symbol
        self._timeframe = timeframe or Timeframe("1m")
        self._finite = finite
        self._instrument = instrument
        self._skipped: datetime | None = None
        self.poll_count = 0
        self.events: list[FeedEvent] = []  # handed out by the next drain_events
        self.late = 0.0  # seconds the next bar is overdue, as stale_for tells
        self.interrupted = False

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
        """Return the next scripted answer (nothing once the script is done), without the
        bars at or before the moment skipped through."""
        self.poll_count += 1
        if not self._polls:
            return []
        answer = self._polls.pop(0)
        if isinstance(answer, Exception):
            raise answer
        skipped = self._skipped
        return answer if skipped is None else [bar for bar in answer if bar.time > skipped]

    def skip_through(self, moment: datetime) -> int:
        """Leave out of later polls the bars at or before `moment`; none is dropped now."""
        self._skipped = moment
        return 0

    def instrument(self) -> Instrument | None:
        """Return the scripted exchange rules, if any."""
        return self._instrument

    def drain_events(self) -> list[FeedEvent]:
        """Return and forget the scripted feed events."""
        events, self.events = self.events, []
        return events

    def stale_for(self, now: datetime) -> float:
        """Return the scripted lateness."""
        del now
        return self.late

    def next_poll_delay(self, now: datetime) -> float | None:
        """Return None: the next scripted answer is there at once."""
        del now
        return None

    def interrupt(self) -> None:
        """Note that the run asked the feed to stop waiting."""
        self.interrupted = True


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
