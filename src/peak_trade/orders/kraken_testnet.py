"""The testnet venue: Kraken validates every order (AddOrder with validate=true), then the
shadow model fills it. Kraken has no spot sandbox, so this is as far as an order goes: it is
checked by the real exchange and never placed."""

from __future__ import annotations

import zlib

from peak_trade.core.errors import OrderRejectedError
from peak_trade.core.modes import VenueAction
from peak_trade.core.types import Bar, Instrument
from peak_trade.kraken.market import KrakenMarket
from peak_trade.orders.base import OrderExecutionResult, OrderRequest, OrderStatus
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

    def use_instrument(self, instrument: Instrument) -> None:
        """Apply the exchange's rules to the simulated fills."""
        self.shadow.use_instrument(instrument)

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Validate each order with Kraken; fill the accepted ones with the shadow model."""
        results: list[OrderExecutionResult] = []
        accepted: list[OrderRequest] = []
        for order in orders:
            try:
                answer = self.market.client.validate_order(
                    pair_id=self.market.pair_id,
                    side=order.side.value,
                    order_type=order.order_type.value,
                    volume=f"{order.quantity:f}",
                    price=f"{order.limit_price:f}" if order.limit_price is not None else None,
                    userref=userref_for(order.client_id),
                )
            except OrderRejectedError as error:
                results.append(OrderExecutionResult(order, OrderStatus.REJECTED, reason=str(error)))
                continue
            description = str(answer.get("descr", {}).get("order", ""))
            results.append(
                OrderExecutionResult(
                    order, OrderStatus.VALIDATED, reason="validated by Kraken", detail=description
                )
            )
            accepted.append(order)
        results.extend(self.shadow.submit(accepted, bar))
        return results

    @property
    def pending(self) -> tuple[OrderRequest, ...]:
        """Return the validated orders waiting for their fill."""
        return self.shadow.pending

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Fill the validated orders queued for this bar."""
        return self.shadow.on_bar(bar)
