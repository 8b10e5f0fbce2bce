"""A portfolio on Kraken (the loopback emulator): every pair polled per close, its own rules,
orders validated by the exchange in testnet mode, and a pair gone quiet held against all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from peak_trade.backtest.portfolio_reconcile import reconcile_portfolio
from peak_trade.core.legs import Leg, with_weights
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.journal.schema import leg_run_id
from peak_trade.journal.store import Journal
from peak_trade.live.risk_limits import TradingState
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.portfolio_run import PortfolioRun
from tests.integration.conftest import HISTORY, KEY, SECRET, START, Exchange

LEGS = with_weights([Leg("ma_crossover", "BTC/EUR"), Leg("rsi_reversion", "ETH/EUR")])


def _eth(bars: int) -> list[Bar]:
    market = SyntheticMarket(seed=23, bars=bars, start=START, start_price=3_000.0, price_decimals=2)
    return list(market)


def _cfg(kraken: Exchange, tmp_path: Path) -> PeakConfig:
    section = {
        "base_url": kraken.url,
        "nonce_file": str(tmp_path / "nonce"),
        "rate_limit_ms": 0,  # the emulator has no rate to keep to
        "stale_after_seconds": 150,
    }
    return PeakConfig.from_mapping({"exchange": {"kraken": section}})


def _run(kraken: Exchange, tmp_path: Path, mode: str) -> tuple[PortfolioRun, Journal]:
    cfg = _cfg(kraken, tmp_path)
    config = LiveSessionConfig(
        mode=mode,
        data_source="kraken",
        warmup_candles=100,
        run_id="kr",
        poll_interval_seconds=1,
        max_consecutive_errors=20,
    )
    journal = Journal(tmp_path / "j.sqlite", clock=kraken.clock)
    run = PortfolioRun.start(config, cfg, LEGS, clock=kraken.clock, journal=journal, backtest=False)
    run.sleep_between = False
    return run, journal


def _bars(journal: Journal, leg: int) -> int:
    """Return how many bars a leg journaled (one by one, or as runs of quiet bars)."""
    run = leg_run_id("kr", leg)
    return journal.count(run, "bar") + int(journal.total(run, "bars", "n"))


def _minutes(kraken: Exchange, run: PortfolioRun, count: int) -> None:
    for _ in range(count):
        kraken.clock.advance(timedelta(minutes=1))
        run.step_once()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_TESTNET_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_TESTNET_API_SECRET", SECRET)


@pytest.mark.usefixtures("keys")
def test_a_testnet_portfolio_polls_each_pair_and_has_each_order_validated(
    kraken: Exchange, tmp_path: Path
) -> None:
    kraken.emulator.more_bars["XETHZEUR"] = _eth(3_000)
    run, journal = _run(kraken, tmp_path, "testnet")
    run.warmup()

    _minutes(kraken, run, 200)

    assert run.bar_times == 200
    # each leg trades by its own pair's rules, as Kraken gave them
    assert [leg.rules.instrument.price_decimals for leg in run.engine.legs] == [1, 2]
    for i in range(2):
        (warmup,) = journal.events(leg_run_id("kr", i), "warmup")
        assert len(warmup.payload["bars"]) == 100
        assert warmup.payload["instrument"]["symbol"] == LEGS[i].symbol
        assert journal.count(leg_run_id("kr", i), "bar") == 200
    calls = kraken.emulator.add_orders
    assert {call.fields["pair"] for call in calls} == {"XXBTZEUR", "XETHZEUR"}
    assert all(call.validate and call.signature_ok and call.error is None for call in calls)
    nonces = [call.nonce for call in calls]
    assert nonces == sorted(set(nonces))  # one nonce sequence for the account's legs
    validated = sum(journal.count(leg_run_id("kr", i), "order_validated") for i in range(2))
    assert validated == len(calls) >= 4
    assert kraken.emulator.requests.count("/0/public/OHLC") >= 2 * 200
    # its backtest needs no exchange: reconcile replays it in shadow mode
    journal.commit()
    asked = len(kraken.emulator.requests)
    report = reconcile_portfolio(journal, "kr", _cfg(kraken, tmp_path))
    assert (report.bars, report.first) == (2 * 200, None)
    assert len(kraken.emulator.requests) == asked


def test_a_pair_gone_quiet_is_left_behind_and_the_others_trade_on(
    kraken: Exchange, tmp_path: Path
) -> None:
    eth = _eth(HISTORY + 100)
    del eth[HISTORY + 20 : HISTORY + 30]  # ten minutes without an ETH candle
    kraken.emulator.more_bars["XETHZEUR"] = eth
    run, journal = _run(kraken, tmp_path, "shadow")
    run.warmup()

    _minutes(kraken, run, 60)

    risk = run.risk
    assert risk is not None
    assert risk.state is TradingState.ACTIVE  # one pair quiet: not the whole account
    # BTC traded every minute, ETH each minute it had a candle
    assert [_bars(journal, i) for i in (0, 1)] == [60, 50]
    events = [(e.payload["kind"], e.payload["detail"]) for e in journal.events("kr", "feed_event")]
    kinds = [kind for kind, _ in events]
    assert kinds.count("stale") == 1
    assert kinds.count("fresh") == 1
    stale = next(detail for kind, detail in events if kind == "stale")
    assert stale.startswith("ETH/EUR: no new candle for ")
    assert stale.endswith("past its close; the others go on")


def test_every_pair_gone_quiet_makes_the_account_reduce_only(
    kraken: Exchange, tmp_path: Path
) -> None:
    kraken.emulator.more_bars["XETHZEUR"] = _eth(3_000)
    run, _ = _run(kraken, tmp_path, "shadow")
    run.warmup()
    _minutes(kraken, run, 5)
    kraken.emulator.outage(3_600)  # the exchange answers nothing for an hour

    for _ in range(6):
        kraken.clock.advance(timedelta(minutes=1))
        run.poll_once()  # each poll fails, and is ridden out

    risk = run.risk
    assert risk is not None
    assert risk.state is TradingState.REDUCING
    assert risk.events[0].reason.startswith("no new candle for ")


@pytest.mark.usefixtures("keys")
def test_a_testnet_portfolio_resumes_from_its_journal_without_asking_kraken_again(
    kraken: Exchange, tmp_path: Path
) -> None:
    kraken.emulator.more_bars["XETHZEUR"] = _eth(3_000)
    run, journal = _run(kraken, tmp_path, "testnet")
    run.warmup()
    _minutes(kraken, run, 120)
    fills = [journal.count(leg_run_id("kr", i), "fill") for i in range(2)]
    journal.close()  # the process dies here: no stop is journaled
    asked = len(kraken.emulator.add_orders)
    cfg = _cfg(kraken, tmp_path)
    again = Journal(tmp_path / "j.sqlite", clock=kraken.clock)

    resumed = PortfolioRun.resume("kr", again, cfg, clock=kraken.clock, backtest=False)
    resumed.replay()

    assert resumed.bar_times == 120
    assert len(kraken.emulator.add_orders) == asked  # the journal's answers, not Kraken's
    assert [leg.rules.instrument.price_decimals for leg in resumed.engine.legs] == [1, 2]
    assert sum(fills) >= 2
    resumed.sleep_between = False
    _minutes(kraken, resumed, 10)
    assert resumed.bar_times == 130
    assert all(journal_count == 130 for journal_count in (
        again.count(leg_run_id("kr", i), "bar") for i in range(2)
    ))  # fmt: skip
    again.close()
