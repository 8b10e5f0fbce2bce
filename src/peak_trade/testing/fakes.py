"""Typed fakes that implement the ports, so tests need no string patches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from peak_trade.core.modes import VenueAction
from peak_trade.core.types import Bar
from peak_trade.orders.base import OrderExecutionResult, OrderRequest, OrderStatus

__all__ = ["FakeVenue"]


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
    bars_seen: list[Bar] = field(default_factory=list)

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Record the orders and answer with the scripted results."""
        if self.error is not None:
            raise self.error
        self.submitted.extend(orders)
        return [self._answer(order, bar) for order in orders]

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Record the bar; a fake venue never queues orders."""
        self.bars_seen.append(bar)
        return []

    def _answer(self, order: OrderRequest, bar: Bar) -> OrderExecutionResult:
        if self.respond is None:
            return OrderExecutionResult(order, OrderStatus.REJECTED, reason="scripted")
        return self.respond(order, bar)
