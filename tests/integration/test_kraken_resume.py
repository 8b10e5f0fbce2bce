"""Resuming a `--data kraken` session after a crash: it goes on from its last journaled bar.

A crash is a runner dropped between steps: the journal holds whole steps only (one
transaction each), exactly as after `kill -9`. The emulator's clock runs on while the session
is down, so the resumed run must backfill the bars it missed, once and in order, and never
trade a bar at or before its last journaled one (nor Kraken's older history).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from peak_trade.backtest.reconcile import reconcile
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.journal.store import Journal
from peak_trade.orders.kraken_testnet import userref_for
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from tests.integration.conftest import KEY, SECRET, Exchange

MINUTE = Timeframe("1m").delta
DOWN = timedelta(minutes=7, seconds=30)  # how long the crashed session stays down


def _cfg(kraken: Exchange, tmp_path: Path) -> PeakConfig:
    kraken_section = {
        "base_url": kraken.url,
        "backoff_seconds": 0.5,
        "stale_after_seconds": 3600.0,
        "nonce_file": str(tmp_path / "nonce"),
    }
    return PeakConfig.from_mapping({"exchange": {"kraken": kraken_section}})


def _start(kraken: Exchange, tmp_path: Path, mode: str, run_id: str) -> LiveSessionRunner:
    config = LiveSessionConfig(
        mode=mode,
        data_source="kraken",
        run_id=run_id,
        strategy_key="ma_crossover",
        warmup_candles=200,
    )
    journal = Journal(tmp_path / f"{run_id}.sqlite", clock=kraken.clock)
    cfg = _cfg(kraken, tmp_path)
    return LiveSessionRunner.from_config(config, cfg, clock=kraken.clock, journal=journal)


def _resume(kraken: Exchange, tmp_path: Path, run_id: str) -> LiveSessionRunner:
    journal = Journal(tmp_path / f"{run_id}.sqlite", clock=kraken.clock)
    return LiveSessionRunner.resume(run_id, journal, _cfg(kraken, tmp_path), clock=kraken.clock)


def _live_steps(kraken: Exchange, runner: LiveSessionRunner, bars: int) -> None:
    """Let `bars` more candles close, one poll each, as a running session sees them."""
    for _ in range(bars):
        kraken.clock.advance(MINUTE)
        runner.step_once()


def _bar_times(runner: LiveSessionRunner) -> list[datetime]:
    return [datetime.fromisoformat(row["t"]) for row in runner.recorder.bars()]


def _fills(runner: LiveSessionRunner) -> list[tuple[Any, ...]]:
    keys = ("client_id", "side", "quantity", "price", "fee")
    return [tuple(e.payload[k] for k in keys) for e in runner.recorder.events("fill")]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_TESTNET_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_TESTNET_API_SECRET", SECRET)


def test_a_resumed_kraken_session_goes_on_from_its_last_bar_and_backfills_the_missed_ones(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: the same session twice over one market; one of them crashes after 12 bars
    whole = _start(kraken, tmp_path, "shadow", "whole")
    crashed = _start(kraken, tmp_path, "shadow", "crash")
    whole.warmup()
    crashed.warmup()
    for _ in range(12):
        _live_steps(kraken, whole, 1)
        crashed.step_once()
    last_before = _bar_times(crashed)[-1]

    # Act: down for seven and a half minutes, then resumed; both run to the same moment
    _live_steps(kraken, whole, 7)
    kraken.clock.advance(DOWN - 7 * MINUTE)
    resumed = _resume(kraken, tmp_path, "crash")
    resumed.step_once()  # the missed bars, backfilled in one poll
    for _ in range(40 - 12 - 7):
        _live_steps(kraken, whole, 1)
        resumed.step_once()

    # Assert: every bar once, in order, none older than the run, none missing
    times = _bar_times(resumed)
    assert times == _bar_times(whole)
    assert len(times) == 40
    assert all(later - earlier == MINUTE for earlier, later in pairwise(times))
    assert times[12] == last_before + MINUTE  # the backfill starts right after the last bar
    assert resumed.metrics.steps == 40
    assert _fills(resumed) == _fills(whole)
    assert resumed.engine.ledger.cash == whole.engine.ledger.cash
    assert [e.kind for e in resumed.recorder.events("feed_event")] == []
    # and its backtest does exactly what it did (a run that traded history again differed)
    journal = resumed.recorder.journal
    assert journal is not None
    report = reconcile(journal, "crash", _cfg(kraken, tmp_path))
    assert report.bars == 40
    assert report.first is None


@pytest.mark.usefixtures("keys")
def test_a_resumed_testnet_session_sends_only_the_orders_of_its_new_bars(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: a testnet session that traded before it crashed
    crashed = _start(kraken, tmp_path, "testnet", "tn")
    crashed.warmup()
    _live_steps(kraken, crashed, 150)
    calls_before = len(kraken.emulator.add_orders)
    orders_before = {e.payload["client_id"] for e in crashed.recorder.events("order_validated")}
    assert calls_before == len(orders_before) > 0
    last_before = _bar_times(crashed)[-1]

    # Act
    kraken.clock.advance(DOWN)
    resumed = _resume(kraken, tmp_path, "tn")
    resumed.step_once()
    _live_steps(kraken, resumed, 150)

    # Assert: the replay sent nothing; each new order was validated once, by its own userref
    validated = [e.payload["client_id"] for e in resumed.recorder.events("order_validated")]
    new_orders = validated[len(orders_before) :]
    assert len(validated) == len(set(validated))
    calls = kraken.emulator.add_orders[calls_before:]
    assert len(calls) == len(new_orders) > 0
    assert [int(call.fields["userref"]) for call in calls] == [userref_for(o) for o in new_orders]
    assert all(call.validate for call in calls)
    times = _bar_times(resumed)
    assert len(times) == len(set(times)) == 150 + 7 + 150
    assert times == sorted(times)
    after = times[times.index(last_before) + 1 :]
    assert after[0] == last_before + MINUTE
    assert all(later - earlier == MINUTE for earlier, later in pairwise(times))
