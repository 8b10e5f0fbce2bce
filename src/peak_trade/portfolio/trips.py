"""Round trips: a position from flat back to flat, built from fills in exact decimals.

One rule for every place that counts trades: the report's statistics and `round_trips.csv`,
and a sweep point's row. A fill that takes the position through zero closes the trip with its
closing part and opens the next with the rest; its fee is split between them by quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["EXIT_REASONS", "RoundTrip", "RoundTrips"]

_ZERO = Decimal(0)

# why a trip ended, by the reason of the order that closed it (see `orders.sizing`)
EXIT_REASONS = {
    "exit_long": "target flat",
    "exit_short": "target flat",
    "close_long": "target reversed",
    "close_short": "target reversed",
}


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position from its first fill to flat: `quantity` is the largest it grew to, the
    prices are the average of the fills that opened (added to) and closed it, `pnl` is net of
    `fees`."""

    side: str  # long or short
    entry_time: str
    exit_time: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    exit_reason: str


@dataclass
class _Open:
    side: str
    entry_time: str
    peak: Decimal = _ZERO
    bought: Decimal = _ZERO  # quantity and value of the fills that grew the position
    bought_value: Decimal = _ZERO
    sold: Decimal = _ZERO  # and of those that shrank it
    sold_value: Decimal = _ZERO
    flow: Decimal = _ZERO  # cash in minus cash out, fees included
    fees: Decimal = _ZERO


@dataclass
class RoundTrips:
    """Turns fills into round trips; `closed` holds the finished ones in order."""

    position: Decimal = _ZERO
    closed: list[RoundTrip] = field(default_factory=list)
    _open: _Open | None = None

    def add_fill(
        self,
        signed_quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        time: str = "",
        reason: str = "",
    ) -> RoundTrip | None:
        """Book a fill; return the round trip it finished, if any. `reason` is the reason of
        the fill's order (an `EXIT_REASONS` key, else kept as it is)."""
        after = self.position + signed_quantity
        if self.position and after and (self.position > 0) != (after > 0):
            closing = -self.position
            part = fee * abs(closing) / abs(signed_quantity)
            done = self._book(closing, price, part, time, reason)
            self._book(signed_quantity - closing, price, fee - part, time, reason)
            return done
        return self._book(signed_quantity, price, fee, time, reason)

    def still_open(self, price: Decimal, time: str) -> RoundTrip | None:
        """Return the open position as a trip marked at `price` (its PnL unrealized, entry
        fees paid), "end of data" its exit reason; None when flat."""
        trip = self._open
        if trip is None:
            return None
        worth = self.position * price
        return self._trip(trip, trip.flow + worth, time, "end of data (still open)", price)

    def _book(
        self, signed: Decimal, price: Decimal, fee: Decimal, time: str, reason: str
    ) -> RoundTrip | None:
        trip = self._open
        if trip is None:
            trip = self._open = _Open("long" if signed > 0 else "short", time)
        if (signed > 0) == (trip.side == "long"):  # grows the position
            trip.bought += abs(signed)
            trip.bought_value += abs(signed) * price
        else:
            trip.sold += abs(signed)
            trip.sold_value += abs(signed) * price
        trip.flow -= signed * price + fee
        trip.fees += fee
        self.position += signed
        trip.peak = max(trip.peak, abs(self.position))
        if self.position:
            return None
        self._open = None
        exit_price = trip.sold_value / trip.sold
        done = self._trip(trip, trip.flow, time, EXIT_REASONS.get(reason, reason), exit_price)
        self.closed.append(done)
        return done

    @staticmethod
    def _trip(trip: _Open, pnl: Decimal, time: str, reason: str, exit_price: Decimal) -> RoundTrip:
        return RoundTrip(
            trip.side,
            trip.entry_time,
            time,
            trip.peak,
            trip.bought_value / trip.bought,
            exit_price,
            pnl,
            trip.fees,
            reason,
        )
