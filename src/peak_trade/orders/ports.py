"""The venue port: where orders go after the safety layers, shadow or testnet alike."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from peak_trade.core.modes import VenueAction
from peak_trade.core.types import Bar, Instrument
from peak_trade.orders.base import JournaledAnswer, OrderExecutionResult, OrderRequest

__all__ = ["Venue"]


class Venue(Protocol):
    """Accepts orders decided on a bar and reports fills as later bars arrive."""

    @property
    def venue_action(self) -> VenueAction:
        """Return what this venue does with an order, for the SafetyGuard."""
        ...

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Take orders decided on `bar`; return each one's status now."""
        ...

    @property
    def pending(self) -> tuple[OrderRequest, ...]:
        """Return the orders waiting for a later bar (on_bar is called only while there are)."""
        ...

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Work queued orders against a new closed bar; return what happened to them."""
        ...

    def replaying(self, answers: Mapping[str, JournaledAnswer]) -> AbstractContextManager[None]:
        """Within: the exchange's answers to a resumed run's past orders (by client id) come
        from its journal, so replaying the run asks the exchange nothing."""
        ...

    def use_instrument(self, instrument: Instrument) -> None:
        """Trade with the exchange's rules for the symbol from now on (read once a feed has
        them); a venue that applies no rules of its own ignores them."""
        ...
