"""Every candle feed through the same assertions: the feed port's contract.

Each implementation is built over the same market (the emulator serves it for Kraken) and
asked the same things: a warmup of the newest closed bars, then polls that deliver each later
bar once and in order, a `skip_through` after which no bar at or before its moment comes
(how a resumed run goes on after its last journaled bar), and the port's other members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from peak_trade.core.types import Bar, Instrument, Timeframe
from peak_trade.data.candle_files import write_replay
from peak_trade.data.kraken_live import KrakenLiveCandleSource
from peak_trade.data.ports import CandleFeed
from peak_trade.data.replay import replay_feed
from peak_trade.data.synthetic import synthetic_feed
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.market import KrakenMarket
from peak_trade.testing.fakes import ScriptedFeed
from tests.integration.conftest import HISTORY, START, Exchange

MINUTE = Timeframe("1m").delta
WARM = 50
LIVE = 40  # bars each feed delivers after its warmup


@dataclass
class FeedCase:
    """A feed, and how to let `minutes` more bars close on its market.

    The Kraken feed reads the emulator at its clock (HISTORY bars closed); the replay and
    scripted feeds hold the same bars from the first of its warmup on; the synthetic market
    is its own.
    """

    feed: CandleFeed
    let_close: Callable[[int], None]


def _market(kraken: Exchange) -> list[Bar]:
    """Return the emulator's bars from the first the Kraken feed warms up on."""
    return list(kraken.emulator.bars[HISTORY - WARM :])


def _synthetic(kraken: Exchange, tmp_path: Path) -> FeedCase:
    del kraken, tmp_path
    feed = synthetic_feed("BTC/EUR", Timeframe("1m"), seed=11, bars=WARM + LIVE, start=START)
    return FeedCase(feed, lambda minutes: None)


def _replay(kraken: Exchange, tmp_path: Path) -> FeedCase:
    path = write_replay(tmp_path / "bars.csv", _market(kraken)[: WARM + LIVE])
    return FeedCase(replay_feed(path, "BTC/EUR", Timeframe("1m")), lambda minutes: None)


def _kraken(kraken: Exchange, tmp_path: Path) -> FeedCase:
    del tmp_path
    market = KrakenMarket(KrakenClient(kraken.url, 5.0), "BTC/EUR")
    feed = KrakenLiveCandleSource(market, Timeframe("1m"), kraken.clock, backoff_seconds=0.5)
    return FeedCase(feed, lambda minutes: kraken.clock.advance(minutes * MINUTE))


def _scripted(kraken: Exchange, tmp_path: Path) -> FeedCase:
    del tmp_path
    bars = _market(kraken)
    polls: list[list[Bar] | Exception] = [[bar] for bar in bars[WARM : WARM + LIVE]]
    return FeedCase(ScriptedFeed(list(bars[:WARM]), polls, finite=False), lambda minutes: None)


FEEDS = {"synthetic": _synthetic, "replay": _replay, "kraken": _kraken, "scripted": _scripted}


@pytest.fixture(params=sorted(FEEDS))
def case(request: pytest.FixtureRequest, kraken: Exchange, tmp_path: Path) -> FeedCase:
    assert HISTORY > WARM + LIVE  # the emulator's clock starts late enough to go back
    return FEEDS[request.param](kraken, tmp_path)


def _drain(case: FeedCase, polls: int) -> list[Bar]:
    """Poll `polls` times, a minute apart; return every bar delivered."""
    delivered: list[Bar] = []
    for _ in range(polls):
        case.let_close(1)
        delivered.extend(case.feed.poll())
    return delivered


def test_a_feed_warms_up_on_the_newest_closed_bars_oldest_first(case: FeedCase) -> None:
    bars = case.feed.warmup(WARM)
    assert len(bars) == WARM
    assert all(later.time - earlier.time == MINUTE for earlier, later in pairwise(bars))


def test_a_feed_delivers_each_later_bar_once_and_in_order(case: FeedCase) -> None:
    last = case.feed.warmup(WARM)[-1].time
    delivered = _drain(case, LIVE + 5)
    times = [bar.time for bar in delivered]
    assert len(times) >= LIVE  # a live feed goes on; the others end with their data
    assert times == [last + MINUTE * i for i in range(1, len(times) + 1)]


def test_after_skip_through_no_bar_at_or_before_the_moment_comes(case: FeedCase) -> None:
    # Arrange: a resumed run journaled ten live bars; its feed starts anew from the warmup
    last = case.feed.warmup(WARM)[-1].time
    moment = last + 10 * MINUTE
    case.let_close(10)
    # Act
    case.feed.skip_through(moment)
    delivered = _drain(case, LIVE)
    # Assert: it goes on right after the moment, with nothing skipped and nothing twice
    times = [bar.time for bar in delivered]
    assert times[0] == moment + MINUTE
    assert len(times) >= LIVE - 10
    assert times == [moment + MINUTE * i for i in range(1, len(times) + 1)]


def test_a_feed_answers_every_member_of_the_port(case: FeedCase) -> None:
    feed = case.feed
    feed.warmup(WARM)
    now = START + (HISTORY + 1) * MINUTE
    instrument = feed.instrument()
    assert instrument is None or (
        isinstance(instrument, Instrument) and instrument.symbol == feed.symbol
    )
    assert isinstance(feed.drain_events(), list)
    assert feed.drain_events() == []  # drained: each event is handed out once
    assert feed.stale_for(now) >= 0.0
    delay = feed.next_poll_delay(now)
    assert delay is None or delay >= 0.0
    assert feed.exhausted in (True, False)
    assert feed.timeframe == Timeframe("1m")
    feed.interrupt()  # a run that stops asks this of any feed
