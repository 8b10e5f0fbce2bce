"""KrakenLiveCandleSource against the loopback emulator, through ccxt's real HTTP path."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from peak_trade.core.errors import ConfigError, FeedError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.candle_files import write_replay
from peak_trade.data.kraken_live import KrakenLiveCandleSource
from peak_trade.journal.store import Journal
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.market import KrakenMarket
from peak_trade.live.risk_limits import TradingState
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.testing.kraken_emulator import Fault
from tests.integration.conftest import HISTORY, Exchange

ONE_MINUTE = Timeframe("1m")


def _feed(
    kraken: Exchange, *, max_retries: int = 3, history: str | None = None, timeout: float = 5.0
) -> KrakenLiveCandleSource:
    market = KrakenMarket(KrakenClient(kraken.url, timeout), "BTC/EUR")
    return KrakenLiveCandleSource(
        market,
        ONE_MINUTE,
        kraken.clock,
        max_retries=max_retries,
        backoff_seconds=1.0,
        history_path=history,
    )


def _truth(kraken: Exchange, bars: list[Bar]) -> list[Bar]:
    index = {bar.time: bar for bar in kraken.emulator.bars}
    return [index[bar.time] for bar in bars]


def test_warmup_returns_the_newest_closed_bars_only(kraken: Exchange) -> None:
    bars = _feed(kraken).warmup(200)
    assert len(bars) == 200
    assert bars == _truth(kraken, bars)
    assert bars[-1].time + ONE_MINUTE.delta <= kraken.clock.now()
    assert bars[-1].time == kraken.emulator.bars[HISTORY - 1].time


def test_the_open_candle_never_reaches_the_caller(kraken: Exchange) -> None:
    feed = _feed(kraken)
    emitted = feed.warmup(60)
    for _ in range(20):
        kraken.clock.advance(timedelta(seconds=20))  # mid-candle polls see only the open one
        new = feed.poll()
        assert all(bar.time + ONE_MINUTE.delta <= kraken.clock.now() for bar in new)
        emitted += new
    assert emitted == _truth(kraken, emitted)  # the open candle is flat; the real one is not
    times = [bar.time for bar in emitted]
    assert times == sorted(set(times))
    assert all(b - a == ONE_MINUTE.delta for a, b in pairwise(times))


def test_a_poll_slower_than_the_timeframe_loses_no_bar(kraken: Exchange) -> None:
    feed = _feed(kraken)
    last = feed.warmup(60)[-1]
    kraken.clock.advance(timedelta(minutes=7))
    new = feed.poll()
    assert [bar.time for bar in new] == [last.time + ONE_MINUTE.delta * i for i in range(1, 8)]
    assert feed.poll() == []


def test_a_gap_of_three_bars_is_backfilled(kraken: Exchange) -> None:
    feed = _feed(kraken)
    last = feed.warmup(60)[-1]
    kraken.emulator.script(Fault("OHLC-gap", "gap", gap_bars=3))
    kraken.clock.advance(timedelta(minutes=10))
    new = feed.poll()
    assert [bar.time for bar in new] == [last.time + ONE_MINUTE.delta * i for i in range(1, 11)]
    events = feed.drain_events()
    assert [event.kind for event in events] == ["backfill"]


@pytest.mark.parametrize("kind", ["http_500", "service", "rate_limit", "malformed"])
def test_transient_errors_are_retried_with_backoff_and_recorded(
    kraken: Exchange, kind: str
) -> None:
    feed = _feed(kraken)
    feed.warmup(60)
    kraken.emulator.script(Fault("OHLC", kind), Fault("OHLC", kind))
    kraken.clock.advance(timedelta(minutes=1))
    before = kraken.clock.now()
    new = feed.poll()
    assert len(new) == 1
    events = feed.drain_events()
    assert [event.kind for event in events] == ["retry", "retry"]
    assert kraken.clock.now() - before == timedelta(seconds=3)  # waited 1 s, then 2 s
    assert feed.failures == 2


def test_a_timeout_is_retried(kraken: Exchange) -> None:
    feed = _feed(kraken, timeout=0.5)
    feed.warmup(10)
    kraken.emulator.script(Fault("OHLC", "timeout"))
    kraken.clock.advance(timedelta(minutes=1))
    assert len(feed.poll()) == 1
    (event,) = feed.drain_events()
    assert "RequestTimeout" in event.detail


def test_exhausted_retries_raise_a_feed_error(kraken: Exchange) -> None:
    feed = _feed(kraken, max_retries=2)
    feed.warmup(10)
    kraken.emulator.script(*(Fault("OHLC", "service") for _ in range(3)))
    with pytest.raises(
        FeedError, match="Kraken OHLC failed 3 times; last: Kraken OHLC: EService:Unavailable"
    ):
        feed.poll()


def test_warmup_beyond_kraken_history_needs_a_file(kraken: Exchange, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warmup_candles 750 needs --data-path FILE"):
        _feed(kraken).warmup(750)
    older = write_replay(tmp_path / "older.csv", list(kraken.emulator.bars[: HISTORY - 719]))
    bars = _feed(kraken, history=str(older)).warmup(750)
    assert len(bars) == 750
    assert bars[-1].time == kraken.emulator.bars[HISTORY - 1].time
    times = [bar.time for bar in bars]
    assert all(b - a == ONE_MINUTE.delta for a, b in pairwise(times))


def test_a_history_file_that_does_not_reach_krakens_data_is_refused(
    kraken: Exchange, tmp_path: Path
) -> None:
    short = write_replay(tmp_path / "short.csv", list(kraken.emulator.bars[:20]))
    with pytest.raises(ConfigError, match="the file must reach the bar before it"):
        _feed(kraken, history=str(short)).warmup(750)


def _cfg(kraken: Exchange) -> PeakConfig:
    return PeakConfig.from_mapping(
        {
            "exchange": {
                "kraken": {
                    "base_url": kraken.url,
                    "backoff_seconds": 0.5,
                    "stale_after_seconds": 120.0,
                }
            }
        }
    )


def _session(kraken: Exchange, tmp_path: Path, **changes: object) -> LiveSessionRunner:
    config = LiveSessionConfig(data_source="kraken", **changes)  # type: ignore[arg-type]
    journal = Journal(tmp_path / "j.sqlite", clock=kraken.clock)
    return LiveSessionRunner.from_config(config, _cfg(kraken), clock=kraken.clock, journal=journal)


def test_a_kraken_session_trades_closed_bars_on_time(kraken: Exchange, tmp_path: Path) -> None:
    runner = _session(kraken, tmp_path, symbol="BTC/EUR")
    runner.warmup()
    start = kraken.clock.now()
    runner.run_n_steps(120, sleep_between=True)
    assert runner.metrics.steps == 120
    # polls are timed to each candle's close (plus 2 s), not a fixed 60 s
    assert kraken.clock.now() - start < timedelta(minutes=121)
    assert runner.metrics.polls <= 121  # only the first poll, right after warmup, comes early
    bars = runner.recorder.bars()
    truth = {bar.time.isoformat(): bar for bar in kraken.emulator.bars}
    assert all(truth[b["t"]].close == b["c"] for b in bars)


def test_instrument_rules_come_from_kraken(kraken: Exchange, tmp_path: Path) -> None:
    kraken.emulator.pair_id = "XETHZEUR"
    runner = _session(kraken, tmp_path, symbol="ETH/EUR")
    runner.warmup()
    assert runner.engine.rules.instrument.min_order_size == Decimal("0.002")
    assert runner.engine.rules.instrument.price_decimals == 2


def test_feed_failures_show_in_metrics_and_journal(kraken: Exchange, tmp_path: Path) -> None:
    runner = _session(kraken, tmp_path)
    runner.warmup()
    kraken.emulator.script(*(Fault("OHLC", "http_500") for _ in range(4)))
    runner.run_n_steps(2, sleep_between=True)
    assert runner.metrics.step_errors == 1
    assert runner.metrics.feed_events == {"retry": 4}
    kinds = [event.kind for event in runner.recorder.events()]
    assert kinds.count("feed_event") == 4
    assert kinds.count("step_failed") == 1
    assert runner.metrics.steps == 2  # the next poll caught up


def test_a_stale_feed_switches_trading_to_reducing(kraken: Exchange, tmp_path: Path) -> None:
    runner = _session(kraken, tmp_path)
    runner.warmup()
    kraken.emulator.bars = kraken.emulator.bars[: HISTORY + 3]  # the exchange stops producing
    runner.run_n_steps(3, sleep_between=True)
    kraken.clock.advance(timedelta(minutes=5))
    runner.step_once()
    risk = runner.pipeline.risk_limits
    assert risk is not None
    assert risk.state is TradingState.REDUCING
    assert "no new candle for" in risk.events[-1].reason
    assert runner.recorder.events("trading_state")


def test_a_run_a_stale_feed_set_reducing_resumes_reducing(kraken: Exchange, tmp_path: Path) -> None:
    # Arrange: the exchange stops producing; the stale check trips REDUCING, journaled
    runner = _session(kraken, tmp_path)
    runner.warmup()
    kraken.emulator.bars = kraken.emulator.bars[: HISTORY + 3]
    runner.run_n_steps(3, sleep_between=True)
    kraken.clock.advance(timedelta(minutes=5))
    runner.step_once()
    runner.recorder.commit()
    journal = runner.recorder.journal
    assert journal is not None

    # Act: the session is rebuilt from its journal (a replay cannot see the feed's staleness)
    resumed = LiveSessionRunner.resume(runner.run_id, journal, _cfg(kraken), clock=kraken.clock)

    # Assert: restored where the journal has it, and not written twice
    risk = resumed.pipeline.risk_limits
    assert risk is not None
    assert risk.state is TradingState.REDUCING
    assert len(resumed.recorder.events("trading_state")) == 1


def test_book_fills_are_priced_from_krakens_depth(kraken: Exchange, tmp_path: Path) -> None:
    runner = _session(kraken, tmp_path, fill_price="book")
    runner.warmup()
    checked = 0
    for _ in range(300):
        for fill in (r.fill for r in runner.step_once() or [] if r.fill is not None):
            book = kraken.emulator.depth(100)["XXBTZEUR"]
            side = book["asks"] if fill.side.value == "buy" else book["bids"]
            remaining, cost = fill.quantity, Decimal(0)
            for price_text, volume_text, _ in side:
                taken = min(Decimal(volume_text), remaining)
                cost += taken * Decimal(price_text)
                remaining -= taken
            average = cost / fill.quantity
            assert abs(fill.price - average) < Decimal("0.1")
            assert fill.market_price == Decimal(side[0][0])
            checked += 1
        kraken.clock.advance(timedelta(minutes=1))
    assert checked >= 2
    assert "/0/public/Depth" in kraken.emulator.requests


def test_the_stale_switch_trips_while_the_exchange_is_down_and_lifts_when_bars_return(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: a session with stale_after_seconds = 120, then Kraken answers only HTTP 500
    runner = _session(kraken, tmp_path)
    runner.warmup()
    runner.run_n_steps(3, sleep_between=True)
    kraken.emulator.script(*(Fault("OHLC", "http_500") for _ in range(100)))
    risk = runner.pipeline.risk_limits
    assert risk is not None

    # Act: every poll fails for five minutes
    for _ in range(10):
        kraken.clock.advance(timedelta(seconds=30))
        with pytest.raises(FeedError):
            runner.step_once()
    tripped = risk.state
    kraken.emulator.faults.clear()
    kraken.clock.advance(timedelta(minutes=1))
    new = runner.step_once()

    # Assert: reduce-only while down (judged by the clock), active again with fresh bars
    assert tripped is TradingState.REDUCING
    assert new is not None
    assert risk.state is TradingState.ACTIVE
    changes = [
        (e.payload["to"], e.payload["reason"]) for e in runner.recorder.events("trading_state")
    ]
    assert [to for to, _ in changes] == ["reducing", "active"]
    assert changes[0][1].startswith("no new candle for ")
    assert changes[1][1].startswith("candles arrive again (no new candle for ")


def test_a_hole_in_the_warmup_is_asked_for_again_and_backfilled(kraken: Exchange) -> None:
    feed = _feed(kraken)
    kraken.emulator.script(Fault("OHLC-gap", "gap", gap_bars=4))
    bars = feed.warmup(700)
    assert all(b.time - a.time == ONE_MINUTE.delta for a, b in pairwise(bars))
    assert bars == _truth(kraken, bars)
    assert [event.kind for event in feed.drain_events()] == ["backfill"]


def test_a_hole_that_stays_in_the_warmup_is_journaled_as_a_gap(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: both answers, the first and the one asked again, miss 4 bars
    kraken.emulator.script(*(Fault("OHLC-gap", "gap", gap_bars=4) for _ in range(2)))
    runner = _session(kraken, tmp_path, warmup_candles=700)

    # Act
    runner.warmup()

    # Assert: the 700 bars span 704 minutes, and the journal says where the hole is
    details = [
        (e.payload["kind"], e.payload["detail"]) for e in runner.recorder.events("feed_event")
    ]
    assert [kind for kind, _ in details] == ["backfill", "gap"]
    assert details[1][1].startswith("4 bar(s) missing between ")
    (warm,) = runner.recorder.events("warmup")
    first, last = warm.payload["bars"][0]["t"], warm.payload["bars"][-1]["t"]
    span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    assert len(warm.payload["bars"]) == 700
    assert span == ONE_MINUTE.delta * 703
    assert warm.payload["instrument"]["symbol"] == "BTC/EUR"
    assert warm.payload["instrument"]["price_decimals"] == 1
