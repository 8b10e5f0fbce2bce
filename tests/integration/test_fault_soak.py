"""A fault soak: a testnet session against the loopback Kraken through every scripted fault.

Five simulated hours on the emulator's manual clock (a few seconds of real time): HTTP 500s,
a timeout, rate limits, EService errors, malformed JSON, holes in the candles, rejected orders
and an outage of seven minutes. The session must journal every closed bar exactly once and in
order, send each order to Kraken once, put every fault on record, and go reduce-only while the
feed is stale and back once candles come again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.store import Journal
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.testing.kraken_emulator import parse_fault
from tests.integration.conftest import KEY, SECRET, Exchange

MINUTE = timedelta(minutes=1)
# Three phases of 100 minutes, each starting with these faults. A fault hits the next requests
# of its endpoint; a gap shows in the first answer with several new bars (after an outage).
PHASES: tuple[list[str], ...] = (
    ["http_500:2", "timeout", "rate_limit:2", "malformed", "service:3", "insufficient_funds:2"],
    ["outage:420", "gap:2"],  # seven minutes: longer than stale_after_seconds
    ["outage:240", "gap:1", "http_500", "rate_limit", "malformed", "service"],
)
PHASE_MINUTES = 100


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_TESTNET_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_TESTNET_API_SECRET", SECRET)


def _runner(kraken: Exchange, tmp_path: Path) -> LiveSessionRunner:
    section = {
        "base_url": kraken.url,
        "timeout_seconds": 0.5,
        "max_retries": 3,
        "backoff_seconds": 0.5,
        "stale_after_seconds": 180.0,
        "nonce_file": str(tmp_path / "nonce"),
    }
    cfg = PeakConfig.from_mapping(
        {"exchange": {"kraken": section}, "strategy": {"ma_crossover": {"fast_window": 3}}}
    )
    config = LiveSessionConfig(
        mode="testnet",
        data_source="kraken",
        run_id="soak",
        warmup_candles=100,
        max_consecutive_errors=10,  # rides out an outage of up to ten polls
    )
    journal = Journal(tmp_path / "soak.sqlite", clock=kraken.clock)
    return LiveSessionRunner.from_config(config, cfg, clock=kraken.clock, journal=journal)


@pytest.mark.usefixtures("keys")
def test_a_session_rides_out_every_fault_without_losing_or_repeating_a_bar_or_an_order(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange
    runner = _runner(kraken, tmp_path)
    runner.warmup()
    start = kraken.clock.now()
    warm_last = datetime.fromisoformat(runner.recorder.events("warmup")[0].ts_event or "")

    # Act: the session runs as it would, polling at each candle's close, phase after phase
    for phase, faults in enumerate(PHASES, start=1):
        kraken.emulator.apply(parse_fault(text) for text in faults)
        left = start + phase * PHASE_MINUTES * MINUTE - kraken.clock.now()
        runner.run_for_duration(left.total_seconds() / 60, sleep_between=True)

    # Assert: every bar closed by now, once, in order
    times = [datetime.fromisoformat(row["t"]) for row in runner.recorder.bars()]
    now = kraken.clock.now()
    expected_count = int((now - start) / MINUTE)
    assert times[0] == warm_last + MINUTE
    assert all(later - earlier == MINUTE for earlier, later in pairwise(times))
    assert times[-1] + MINUTE <= now
    assert len(times) == runner.metrics.steps
    assert len(times) in (expected_count - 1, expected_count)
    # each order went to Kraken once: one AddOrder per order, no client id twice
    calls = kraken.emulator.add_orders
    userrefs = [call.fields["userref"] for call in calls]
    assert len(userrefs) == len(set(userrefs)) > 10
    validated = [e.payload["client_id"] for e in runner.recorder.events("order_validated")]
    rejected = [e.payload["client_id"] for e in runner.recorder.events("order_rejected")]
    assert len(validated) == len(set(validated))
    assert len(calls) == len(validated) + len(rejected)
    assert rejected
    assert all(
        e.payload["reason"] == "Kraken AddOrder: EOrder:Insufficient funds"
        for e in runner.recorder.events("order_rejected")
    )
    # every fault that hit the feed is on record: a retry, a backfill or a failed step
    injected = kraken.emulator.injected
    feed_events = Counter(e.payload["kind"] for e in runner.recorder.events("feed_event"))
    answered = sum(injected[k] for k in ("http_500", "timeout", "rate_limit", "service"))
    answered += injected["malformed"] + injected["outage"]
    assert feed_events["retry"] == answered
    assert feed_events["backfill"] == injected["gap"] == 2
    assert feed_events["gap"] == 0  # each hole was filled when asked again
    assert runner.recorder.events("step_failed")  # the outage outlasted the retries
    # stale during the outage, active again once candles came back
    states = [
        (e.payload["to"], e.payload["reason"]) for e in runner.recorder.events("trading_state")
    ]
    assert [to for to, _ in states] == ["reducing", "active", "reducing", "active"]
    assert states[0][1].startswith("no new candle for ")
    print(  # the figures of the note
        f"soak: {sum(injected.values())} faults injected ({dict(injected)}), "
        f"{len(times)} bars journaled, duplicates {len(times) - len(set(times))}, "
        f"lost {expected_count - len(times)}, {len(calls)} AddOrder calls"
    )
