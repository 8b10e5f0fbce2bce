"""Every venue through the same assertions: the venue port's contract.

The shadow executor, the Kraken testnet venue (against the loopback emulator) and the typed
fake take the same orders on the same bars: each order gets an answer about itself, nothing
is left pending once the next bar has been worked, what a venue rejects says why, and inside
`replaying` a venue asks no exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.core.modes import VenueAction
from peak_trade.core.types import Instrument
from peak_trade.data.instruments import offline_instrument
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.market import KrakenMarket
from peak_trade.kraken.nonce import NonceStore
from peak_trade.orders.base import JournaledAnswer, OrderRequest, OrderSide, OrderStatus
from peak_trade.orders.kraken_testnet import KrakenTestnetVenue
from peak_trade.orders.ports import Venue
from peak_trade.orders.shadow import ShadowOrderExecutor
from peak_trade.portfolio.ledger import Ledger
from peak_trade.testing.builders import bars_from_closes
from peak_trade.testing.fakes import FakeVenue
from tests.integration.conftest import KEY, SECRET, Exchange

BARS = bars_from_closes([50_000.0, 50_100.0, 50_050.0, 49_900.0])
BTC = offline_instrument("BTC/EUR")
FINAL = (OrderStatus.FILLED, OrderStatus.REJECTED)


@dataclass
class VenueCase:
    """A venue, and a count of the requests it sent to an exchange."""

    venue: Venue
    exchange_calls: Callable[[], int]


def _shadow(kraken: Exchange, tmp_path: Path) -> VenueCase:
    del kraken, tmp_path
    ledger = Ledger(Decimal(10_000), currency="EUR")
    return VenueCase(ShadowOrderExecutor(BTC, ledger, Decimal("0.001"), Decimal(5)), lambda: 0)


def _testnet(kraken: Exchange, tmp_path: Path) -> VenueCase:
    ledger = Ledger(Decimal(10_000), currency="EUR")
    shadow = ShadowOrderExecutor(BTC, ledger, Decimal("0.001"), Decimal(5))
    store = NonceStore(tmp_path / "nonce")
    client = KrakenClient(kraken.url, 5.0, api_key=KEY, api_secret=SECRET, nonce_store=store)
    venue = KrakenTestnetVenue(KrakenMarket(client, "BTC/EUR"), shadow)
    return VenueCase(venue, lambda: len(kraken.emulator.add_orders))


def _fake(kraken: Exchange, tmp_path: Path) -> VenueCase:
    del kraken, tmp_path
    return VenueCase(FakeVenue(), lambda: 0)


VENUES = {"shadow": _shadow, "testnet": _testnet, "fake": _fake}


@pytest.fixture(params=sorted(VENUES))
def case(request: pytest.FixtureRequest, kraken: Exchange, tmp_path: Path) -> VenueCase:
    return VENUES[request.param](kraken, tmp_path)


def _orders() -> list[OrderRequest]:
    buy = OrderRequest("C-1", "BTC/EUR", OrderSide.BUY, Decimal("0.01"), ts_event=BARS[0].time)
    tiny = OrderRequest("C-2", "BTC/EUR", OrderSide.BUY, Decimal("0.00000001"))
    return [buy, tiny]


def _work(venue: Venue) -> dict[str, list[OrderStatus]]:
    """Submit the orders on the first bar, work the next bars; return each order's statuses."""
    statuses: dict[str, list[OrderStatus]] = {}
    results = venue.submit(_orders(), BARS[0])
    for bar in BARS[1:]:
        if venue.pending:
            results += venue.on_bar(bar)
    for result in results:
        statuses.setdefault(result.request.client_id, []).append(result.status)
    return statuses


def test_a_venue_answers_every_order_and_leaves_nothing_pending(case: VenueCase) -> None:
    statuses = _work(case.venue)
    assert sorted(statuses) == ["C-1", "C-2"]
    assert all(answers[-1] in FINAL for answers in statuses.values())
    assert case.venue.pending == ()


def test_a_rejection_says_why(case: VenueCase) -> None:
    results = case.venue.submit(_orders(), BARS[0])
    rejected = [r for r in results if r.status is OrderStatus.REJECTED]
    assert all(r.reason for r in rejected)


def test_a_venue_says_what_it_does_with_an_order(case: VenueCase) -> None:
    assert isinstance(case.venue.venue_action, VenueAction)
    assert case.venue.venue_action is not VenueAction.PLACE  # no venue places a real order


def test_a_replay_asks_no_exchange(case: VenueCase) -> None:
    answers = {
        "C-1": JournaledAnswer(OrderStatus.VALIDATED, "validated by Kraken", "buy 0.01 XBTEUR"),
        "C-2": JournaledAnswer(OrderStatus.REJECTED, "Kraken AddOrder: EOrder:Order minimum"),
    }
    before = case.exchange_calls()
    with case.venue.replaying(answers):
        statuses = _work(case.venue)
    assert case.exchange_calls() == before
    assert sorted(statuses) == ["C-1", "C-2"]


def test_a_venue_takes_the_exchanges_rules(case: VenueCase) -> None:
    rules = Instrument("BTC/EUR", "BTC", "EUR", 2, 6, Decimal("0.001"), Decimal(1))
    case.venue.use_instrument(rules)
    statuses = _work(case.venue)
    assert statuses["C-2"] == [OrderStatus.REJECTED]  # below the new minimum everywhere
