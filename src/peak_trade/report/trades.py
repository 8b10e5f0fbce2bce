"""The report's trade files: trades.csv (every fill) and round_trips.csv (every position from
flat back to flat), from the run's journaled orders, fills and trading-state changes."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.core.money import plain
from peak_trade.journal.store import JournalEvent
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.portfolio.trips import RoundTrip, RoundTrips

__all__ = ["REPORT_KINDS", "TRIP_COLUMNS", "TradeLog", "epoch_seconds", "plain_text", "trip_row"]

# the journal events the trade files are made from
REPORT_KINDS = ("order", "fill", "trading_state")
_FILL_COLUMNS = ("time", "client_id", "side", "quantity", "price", "fee", "market_price")
TRIP_COLUMNS = (
    "side",
    "entry_time",
    "exit_time",
    "duration",
    "quantity",
    "entry_price",
    "exit_price",
    "pnl",
    "fees",
    "exit_reason",
)


_PLACES = Decimal("1e-12")


def plain_text(value: str | None) -> str | None:
    """Return journaled decimal text in plain notation ("0E-10" is "0.0000000000")."""
    return None if value is None else plain(Decimal(value))


def epoch_seconds(time: str) -> int:
    """Return an ISO bar or event time as whole seconds since 1970 (UTC)."""
    return int(datetime.fromisoformat(time).timestamp())


class TradeLog:
    """Writes trades.csv while reading the events, and keeps what the rest of the report needs:
    the round trips, the fills and trading-state changes to mark on the plot."""

    def __init__(self, stats: PerformanceStats) -> None:
        self.stats = stats
        self.trips = RoundTrips()
        self.fills: list[tuple[int, float, bool]] = []  # time, price, entry (True) or exit
        self.states: list[tuple[int, str, str]] = []  # time, the new state, why
        self._reasons: dict[Any, str] = {}

    def write_fills(self, path: Path, events: Iterable[JournalEvent]) -> None:
        """Write trades.csv from the `REPORT_KINDS` events of a run."""
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_FILL_COLUMNS)
            for event in events:
                p = event.payload
                if event.kind == "order":
                    self._reasons[p["client_id"]] = p["reason"]
                elif event.kind == "trading_state":
                    self.states.append((epoch_seconds(_time(event)), p["to"], p["reason"]))
                elif event.kind == "fill":
                    amounts = (plain_text(p[name]) for name in _FILL_COLUMNS[3:])
                    writer.writerow((event.ts_event, p["client_id"], p["side"], *amounts))
                    self._book(event)

    def _book(self, event: JournalEvent) -> None:
        p = event.payload
        quantity = Decimal(p["quantity"]) * (1 if p["side"] == "buy" else -1)
        reason = self._reasons.get(p["client_id"], "")
        entry = reason.startswith("entry")
        time = _time(event)
        self.fills.append((epoch_seconds(time), float(p["price"]), entry))
        done = self.trips.add_fill(quantity, Decimal(p["price"]), Decimal(p["fee"]), time, reason)
        if done is not None:
            self.stats.add_round_trip(float(done.pnl))

    def write_trips(self, path: Path, last: tuple[str, float] | None) -> bool:
        """Write round_trips.csv; a position still open at the last bar (`last`: its time and
        close) is its last row, marked at that close. Return whether one was."""
        rows = list(self.trips.closed)
        still = None if last is None else self.trips.still_open(Decimal(repr(last[1])), last[0])
        if still is not None:
            rows.append(still)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(TRIP_COLUMNS)
            writer.writerows(trip_row(trip) for trip in rows)
        return still is not None


def _time(event: JournalEvent) -> str:
    """Return the time of a fill or a state change: its bar's (each has one)."""
    return event.ts_event or event.ts_init


def trip_row(trip: RoundTrip) -> tuple[Any, ...]:
    """Return a round trip as its row of round_trips.csv."""
    held = datetime.fromisoformat(trip.exit_time) - datetime.fromisoformat(trip.entry_time)
    return (
        trip.side,
        trip.entry_time,
        trip.exit_time,
        str(held),
        plain(trip.quantity),
        plain(_short(trip.entry_price)),
        plain(_short(trip.exit_price)),
        plain(trip.pnl),
        plain(trip.fees),
        trip.exit_reason,
    )


def _short(price: Decimal) -> Decimal:
    """An average price can have 28 digits (100/3); twelve decimals say all it needs. The PnL
    and fees are sums of the fills' exact amounts and stay exact."""
    exponent = price.as_tuple().exponent
    return price.quantize(_PLACES) if isinstance(exponent, int) and exponent < -12 else price
