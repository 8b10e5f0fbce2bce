"""The testnet venue: Kraken validates every order (AddOrder with validate=true), then the
shadow model fills it. Kraken has no spot sandbox, so this is as far as an order goes: it is
checked by the real exchange and never placed."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from peak_trade.core.errors import OrderRejectedError, VenueUnavailableError
from peak_trade.core.modes import VenueAction
from peak_trade.core.types import Bar, Instrument
from peak_trade.kraken.market import KrakenMarket
from peak_trade.orders.base import (
    JournaledAnswer,
    OrderExecutionResult,
    OrderRequest,
    OrderStatus,
)
from peak_trade.orders.shadow import ShadowOrderExecutor

__all__ = ["KrakenTestnetVenue", "userref_for"]


def userref_for(client_id: str) -> int:
    """Return a deterministic 31-bit userref (CRC32 of the client id), the same in every process."""
    return zlib.crc32(client_id.encode()) & 0x7FFFFFFF


class KrakenTestnetVenue:
    """Validate with Kraken, then fill with the shadow model; recorded as validated, then filled."""

    venue_action = VenueAction.VALIDATE

    def __init__(self, market: KrakenMarket, shadow: ShadowOrderExecutor) -> None:
        self.market = market
        self.shadow = shadow
        self._journaled: Mapping[str, JournaledAnswer] | None = None

    def use_instrument(self, instrument: Instrument) -> None:
        """Apply the exchange's rules to the simulated fills."""
        self.shadow.use_instrument(instrument)

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Validate each order with Kraken; fill the accepted ones with the shadow model."""
        results: list[OrderExecutionResult] = []
        accepted: list[OrderRequest] = []
        for order in orders:
            try:
                description = self._validate(order)
            except OrderRejectedError as error:
                results.append(OrderExecutionResult(order, OrderStatus.REJECTED, reason=str(error)))
                continue
            results.append(
                OrderExecutionResult(
                    order, OrderStatus.VALIDATED, reason="validated by Kraken", detail=description
                )
            )
            accepted.append(order)
        results.extend(self.shadow.submit(accepted, bar))
        return results

    @contextmanager
    def replaying(self, answers: Mapping[str, JournaledAnswer]) -> Iterator[None]:
        """Within: Kraken's answers come from the journal; no request is sent."""
        self._journaled = answers
        try:
            yield
        finally:
            self._journaled = None

    def _validate(self, order: OrderRequest) -> str:
        """Have Kraken validate `order` (or read its journaled answer); return its description."""
        if self._journaled is not None:
            return _journaled(self._journaled, order.client_id)
        answer = self.market.client.validate_order(
            pair_id=self.market.pair_id,
            side=order.side.value,
            order_type=order.order_type.value,
            volume=f"{order.quantity:f}",
            price=f"{order.limit_price:f}" if order.limit_price is not None else None,
            userref=userref_for(order.client_id),
        )
        return str(answer.get("descr", {}).get("order", ""))

    @property
    def pending(self) -> tuple[OrderRequest, ...]:
        """Return the validated orders waiting for their fill."""
        return self.shadow.pending

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Fill the validated orders queued for this bar."""
        return self.shadow.on_bar(bar)


def _journaled(answers: Mapping[str, JournaledAnswer], client_id: str) -> str:
    """Return the journaled validation of an order, raise its journaled rejection, or fail the
    step as the run's did when the journal has no answer (the exchange was not reached)."""
    answer = answers.get(client_id)
    if answer is None:
        raise VenueUnavailableError(f"order {client_id} got no answer from Kraken in the run")
    if answer.status is OrderStatus.REJECTED:
        raise OrderRejectedError(answer.reason or "rejected by Kraken")
    return answer.detail or ""
