"""LiveSessionRunner: lifecycle, factory and pipeline cases of the document, asserting behaviour."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from peak_trade.backtest.runner import BacktestRunner
from peak_trade.core.clock import ManualClock, SystemClock
from peak_trade.core.errors import (
    ConfigError,
    DataError,
    InvariantError,
    LiveModeNotAllowedError,
    SessionRuntimeError,
    StrategyError,
    VenueUnavailableError,
)
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket, synthetic_feed
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal
from peak_trade.live.risk_limits import TradingState
from peak_trade.orders.base import OrderStatus
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.resume import replay_journal
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.session.settings import settings_changes
from peak_trade.session.wiring import build_engine, engine_settings
from peak_trade.testing.builders import START, bars_from_closes
from peak_trade.testing.fakes import FakeVenue, ScriptedFeed, ScriptedParams, ScriptedStrategy

WARM = 5
BARS = bars_from_closes([50_000.0 + 10 * i for i in range(200)])


def _runner(
    targets: tuple[int, ...] = (0,),
    polls: list[Any] | None = None,
    *,
    clock: Any = None,
    journal: Journal | None = None,
    finite: bool = True,
    kind: type[LiveSessionRunner] = LiveSessionRunner,
    **config: Any,
) -> LiveSessionRunner:
    session = LiveSessionConfig(
        data_source="synthetic", warmup_candles=WARM, **({"poll_interval_seconds": 60.0} | config)
    )
    # The strategy also sees the warmup bars: one flat target each, then the script.
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,) * WARM + targets))
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    script = polls if polls is not None else [[bar] for bar in BARS[WARM:]]
    feed = ScriptedFeed(BARS[:WARM], script, finite=finite)
    return kind(session, engine, feed, clock=clock or ManualClock(START), journal=journal)


def _as_live(config: LiveSessionConfig) -> LiveSessionConfig:
    """Return a copy whose mode is 'live', bypassing the config's own check to test a layer."""
    object.__setattr__(config, "mode", "live")
    return config


# --- lifecycle (document cases 11-17) ----------------------------------------------------------


def test_runner_init_shadow_mode() -> None:
    runner = _runner()
    assert runner.config.mode == "shadow"
    assert not runner.is_running
    assert not runner.is_warmup_done
    assert runner.run_id.startswith("shadow_scripted_") or runner.run_id.startswith("shadow_")
    assert runner.metrics.steps == 0


def test_runner_constructor_blocks_live_mode_on_its_own() -> None:
    good = _runner()
    live = _as_live(LiveSessionConfig(data_source="synthetic"))
    with pytest.raises(LiveModeNotAllowedError, match="LiveSessionRunner refuses mode 'live'"):
        LiveSessionRunner(live, good.engine, ScriptedFeed([], []))


def test_runner_warmup_feeds_history_without_trading() -> None:
    runner = _runner()
    runner.warmup()
    assert runner.is_warmup_done
    assert runner.metrics.start_time == START
    assert runner.metrics.last_bar_time == BARS[WARM - 1].time
    assert runner.metrics.steps == 0
    assert runner.engine.ledger.trades == 0


def test_runner_step_once_trades_the_target_with_next_open_fills() -> None:
    runner = _runner(targets=(0, 1, 1, 0))
    runner.warmup()
    steps = [runner.step_once() for _ in range(4)]
    # bar 1: flat; bar 2: long -> buy queued; bar 3: buy fills at its open; bar 4: flat -> sell
    assert steps[1] is not None
    assert [r.status for r in steps[1]] == [OrderStatus.SUBMITTED]
    assert steps[2] is not None
    assert [r.status for r in steps[2]] == [OrderStatus.FILLED]
    fill = steps[2][0].fill
    assert fill is not None
    assert fill.price == Decimal("50085.1")  # open 50,060 x 1.0005 = 50,085.03, rounded up
    assert fill.market_price == Decimal("50060.0")
    assert runner.metrics.steps == 4
    assert runner.metrics.orders_executed == 1
    assert runner.metrics.total_orders_generated == 2
    assert runner.engine.ledger.position("BTC/EUR") == fill.quantity


def test_runner_run_n_steps_needs_warmup_then_counts_bars() -> None:
    runner = _runner()
    with pytest.raises(SessionRuntimeError, match=r"warmup\(\) must be called before run_n_steps"):
        runner.run_n_steps(10)
    runner.warmup()
    runner.run_n_steps(10)
    assert runner.metrics.steps == 10
    assert runner.stop_reason == "processed the 10 requested bars"


def test_run_methods_return_every_order_result_unless_told_not_to_keep_them() -> None:
    # Arrange: two runners trading the same script, long on bar 2 and flat on bar 4
    kept, dropped = _runner(targets=(0, 1, 1, 0)), _runner(targets=(0, 1, 1, 0))
    dropped.keep_results = False
    for runner in (kept, dropped):
        runner.warmup()

    # Act
    results = kept.run_n_steps(6)
    nothing = dropped.run_n_steps(6)

    # Assert: the same two fills happened; only the first runner held their results
    submitted, filled = OrderStatus.SUBMITTED, OrderStatus.FILLED
    assert [r.status for r in results] == [submitted, filled, submitted, filled]
    assert nothing == []
    assert dropped.metrics.orders_executed == kept.metrics.orders_executed == 2
    assert dropped.engine.ledger.cash == kept.engine.ledger.cash


def test_configure_backtest_takes_bars_in_batches_with_the_same_result(tmp_path: Path) -> None:
    # Arrange: the same synthetic run, bar by bar and configured as a backtest
    config = LiveSessionConfig(
        data_source="synthetic", synthetic_bars=3_000, warmup_candles=51, seed=5
    )
    clock = ManualClock(START)
    plain = LiveSessionRunner.from_config(config, PeakConfig.default(), clock=clock)
    with Journal(tmp_path / "j.sqlite", clock=clock) as journal:
        fast = BacktestRunner.from_config(
            config, PeakConfig.default(), clock=clock, journal=journal
        )
        fast.configure_backtest(bars_per_transaction=500)

        # Act
        for runner in (plain, fast):
            runner.warmup()
        kept = plain.run_forever(sleep_between=False)
        dropped = fast.run_forever(sleep_between=False)

    # Assert: same bars, fills and ledger; six polls of 500 bars (the last one short)
    assert fast.metrics.steps == plain.metrics.steps == 3_000 - 51
    assert fast.metrics.polls == 6
    assert fast.engine.ledger.cash == plain.engine.ledger.cash
    assert fast.engine.ledger.trades == plain.engine.ledger.trades > 0
    assert fast.engine.ledger.max_drawdown == plain.engine.ledger.max_drawdown
    assert dropped == []
    assert len(kept) > 0
    with pytest.raises(ConfigError, match="hands over 500 bars per poll"):
        fast.run_n_steps(10)


def test_runner_shutdown_before_a_run_means_no_step() -> None:
    runner = _runner()
    runner.warmup()
    runner.shutdown()
    runner.run_n_steps(100)
    assert runner.metrics.steps == 0
    assert runner.stop_reason == "shutdown requested"


def test_runner_get_summary_has_the_documented_keys_and_a_consistent_ledger() -> None:
    runner = _runner(targets=(0, 1))
    runner.warmup()
    runner.run_n_steps(5)
    summary = runner.get_summary()
    assert {"run_id", "config", "metrics", "pipeline_summary", "ledger"} <= summary.keys()
    assert summary["config"]["mode"] == "shadow"
    ledger = summary["ledger"]
    equity = Decimal(ledger["cash"]) + Decimal(ledger["position"]) * Decimal(ledger["last_price"])
    assert equity == Decimal(ledger["equity"])
    assert summary["pipeline_summary"]["filled_orders"] == 1


# --- factory (document cases 18-19) -------------------------------------------------------------


def test_from_config_builds_a_trading_shadow_session_without_patches() -> None:
    config = LiveSessionConfig(data_source="synthetic", seed=7)
    runner = LiveSessionRunner.from_config(config, PeakConfig.default())
    runner.warmup()
    runner.run_n_steps(2_000)
    ledger = runner.engine.ledger
    assert runner.metrics.orders_executed > 10
    assert runner.metrics.orders_blocked == 0
    assert ledger.fees_paid > 0
    assert ledger.equity - ledger.start_balance == (
        ledger.realized_pnl + ledger.unrealized_pnl - ledger.fees_paid
    )


def test_a_backtest_knows_the_time_of_the_last_bar_it_processed() -> None:
    # Arrange: batches of 1,000 bars that end on runs of quiet bars
    config = LiveSessionConfig(data_source="synthetic", seed=7, synthetic_bars=2_700)
    runner = BacktestRunner.from_config(config, PeakConfig.default())
    runner.configure_backtest(bars_per_transaction=1_000)
    runner.warmup()
    times = [bar.time for bar in SyntheticMarket(seed=7, bars=2_700)]

    # Act / Assert: poll by poll
    runner.step_once()
    assert runner.metrics.steps == 1_000
    assert runner.metrics.last_bar_time == times[200 + 1_000 - 1]
    runner.run_forever(sleep_between=False)
    assert runner.metrics.steps == 2_500
    assert runner.metrics.last_bar_time == times[-1]


def test_a_backtest_reports_progress_by_batch_and_its_clock_follows_the_bars() -> None:
    # Arrange: a backtest whose clock is moved to the close of each bar done
    clock = ManualClock(START)
    config = LiveSessionConfig(data_source="synthetic", seed=7, synthetic_bars=2_700)
    runner = BacktestRunner.from_config(config, PeakConfig.default(), clock=clock)
    runner.configure_backtest()
    runner.warmup()
    seen: list[tuple[int, datetime]] = []
    runner.bar_clock = clock
    runner.on_progress = lambda steps, bar: seen.append((steps, bar.time))
    times = [bar.time for bar in SyntheticMarket(seed=7, bars=2_700)]

    # Act
    runner.run_forever(sleep_between=False)

    # Assert: progress grows to every bar, the last told with the last bar, the clock at its close
    steps = [step for step, _ in seen]
    assert steps == sorted(steps)
    assert seen[-1] == (2_500, times[-1])
    assert clock.now() == times[-1] + timedelta(minutes=1)
    assert runner.engine.compiled_bars > 0


def test_a_crashed_backtest_resumes_as_a_backtest_and_ends_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    # Arrange: the same backtest twice; the second stops after two polls, as a crash would
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))

    def backtest(run_id: str) -> BacktestRunner:
        config = LiveSessionConfig(
            data_source="synthetic", seed=5, synthetic_bars=6_000, run_id=run_id
        )
        runner = BacktestRunner.from_config(config, PeakConfig.default(), journal=journal)
        runner.configure_backtest()
        runner.warmup()
        return runner

    whole = backtest("whole")
    whole.run_forever(sleep_between=False)
    crashed = backtest("crash")
    crashed.step_once()
    crashed.step_once()
    journal.commit()

    # Act
    resumed = BacktestRunner.resume("crash", journal, PeakConfig.default())
    resumed.run_forever(sleep_between=False)

    # Assert: the same trades and ledger; the bars after the crash still refer to the data
    assert resumed.is_backtest
    assert resumed.metrics.steps == whole.metrics.steps == 5_800
    assert resumed.get_summary()["ledger"] == whole.get_summary()["ledger"]
    fills = [[e.payload for e in journal.events(run, "fill")] for run in ("whole", "crash")]
    assert fills[0] == fills[1]
    assert len(fills[0]) > 20
    for kind in ("bar", "bars", "data_reference"):  # copied quiet bars would be `bar` events
        assert journal.count("crash", kind) == journal.count("whole", kind), kind
    runs = [e.payload for e in journal.events("crash", "bars")]
    assert len(runs) > 20
    assert all("first_us" in p and "columns" not in p for p in runs)


def test_a_replay_that_trades_where_the_journal_has_quiet_bars_is_refused(tmp_path: Path) -> None:
    # Arrange: a flat backtest, all its bars quiet; replayed by a strategy that buys at bar 100
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))
    config = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM, run_id="bt")
    settings = engine_settings(config)
    flat = build_engine(ScriptedStrategy(ScriptedParams()), settings, PeakConfig.default())
    feed = synthetic_feed("BTC/EUR", Timeframe("1m"), seed=5, bars=1_000)
    runner = BacktestRunner(config, flat, feed, clock=ManualClock(START), journal=journal)
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)
    assert journal.count("bt", "bar") == 0
    buys = ScriptedStrategy(ScriptedParams(targets=(0,) * (WARM + 100) + (1,)))
    engine = build_engine(buys, settings, PeakConfig.default())
    bar_100 = list(SyntheticMarket(seed=5, bars=1_000))[WARM + 100].time

    # Act / Assert: the replay refuses at that bar, as it is in a run the journal has as quiet
    with pytest.raises(
        InvariantError,
        match=re.escape(
            f"run bt: the replay traded on the bar of {bar_100.isoformat()}, which the journal "
            "has as quiet"
        ),
    ):
        replay_journal(engine, SessionRecorder(journal, "bt"), ScriptedFeed([], []))
    journal.close()


def test_orders_the_venue_fails_on_are_logged_as_they_happen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange: a strategy that wants long, and a venue that times out on every order
    runner = _runner(targets=(1,), run_id="venue")
    runner.pipeline.venue = FakeVenue(error=VenueUnavailableError("Kraken AddOrder: timed out"))
    runner.warmup()

    # Act
    runner.run_n_steps(3)

    # Assert: the order is planned again each bar, and each failure is a warning
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert runner.metrics.orders_error == 3
    assert len(warnings) == 3
    assert all(
        w.startswith("venue: order BTCEUR-")
        and w.endswith(" failed at the venue: venue: Kraken AddOrder: timed out")
        for w in warnings
    )


def test_a_refusal_repeated_every_bar_is_warned_of_three_times_then_by_powers_of_ten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange: a venue that times out on every order, for 150 bars
    runner = _runner(targets=(1,), run_id="venue")
    runner.pipeline.venue = FakeVenue(error=VenueUnavailableError("Kraken AddOrder: timed out"))
    runner.warmup()

    # Act
    runner.run_n_steps(150)

    # Assert: every failure counted, warnings at the 1st, 2nd, 3rd, 10th and 100th
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert runner.metrics.orders_error == 150
    assert len(warnings) == 5
    assert warnings[3].endswith("timed out (10 times so far)")
    assert warnings[4].endswith("timed out (100 times so far)")


def test_from_config_blocks_live_mode_on_its_own() -> None:
    live = _as_live(LiveSessionConfig(data_source="synthetic"))
    with pytest.raises(LiveModeNotAllowedError, match="from_config refuses mode 'live'"):
        LiveSessionRunner.from_config(live, PeakConfig.default())


def test_limits_in_another_currency_than_the_symbol_is_priced_in_are_refused() -> None:
    # [live_risk] amounts are compared with the quote currency's, unconverted
    config = LiveSessionConfig(data_source="synthetic", symbol="ETH/USD")
    with pytest.raises(
        ConfigError,
        match=r"live_risk.base_currency is 'EUR', but ETH/USD is priced in USD: the limits "
        r"would compare USD amounts as if they were EUR .*; set base_currency = 'USD'",
    ):
        LiveSessionRunner.from_config(config, PeakConfig.default())
    usd = PeakConfig.from_mapping({"live_risk": {"base_currency": "usd"}})
    assert LiveSessionRunner.from_config(config, usd).engine.symbol == "ETH/USD"
    unchecked = LiveSessionConfig(
        data_source="synthetic", symbol="ETH/USD", enable_risk_limits=False
    )
    assert (
        LiveSessionRunner.from_config(unchecked, PeakConfig.default()).pipeline.risk_limits is None
    )


def test_from_config_refuses_a_warmup_shorter_than_the_strategy_needs() -> None:
    config = LiveSessionConfig(data_source="synthetic", warmup_candles=20)
    with pytest.raises(
        ConfigError, match="warmup_candles 20 is fewer than the 51 bars ma_crossover needs"
    ):
        LiveSessionRunner.from_config(config, PeakConfig.default())


def test_from_config_names_an_unknown_strategy() -> None:
    config = LiveSessionConfig(data_source="synthetic", strategy_key="nope")
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        LiveSessionRunner.from_config(config, PeakConfig.default())


# --- pipeline integration (document case 29) ----------------------------------------------------


def test_orders_reach_the_venue_through_the_pipeline_and_fill() -> None:
    runner = _runner(targets=(0, 1))
    runner.warmup()
    runner.run_n_steps(3)
    history = runner.pipeline.history
    assert [r.status for r in history] == [OrderStatus.FILLED]
    assert runner.pipeline.safety_guard.audit_tail()[0].allowed


# --- run modes, stopping, errors ------------------------------------------------------------------


def test_steps_count_bars_not_polls() -> None:
    polls: list[Any] = [[], [BARS[WARM]], [], [BARS[WARM + 1], BARS[WARM + 2]], [BARS[WARM + 3]]]
    runner = _runner(polls=polls, finite=False)
    runner.warmup()
    runner.run_n_steps(3)
    assert runner.metrics.steps == 3
    assert runner.metrics.polls == 4


def test_is_running_is_true_inside_every_run_mode() -> None:
    seen: list[bool] = []
    runner = _runner()
    runner.on_step_callback = lambda step, bar: seen.append(runner.is_running)
    runner.warmup()
    runner.run_n_steps(2)
    runner.run_for_duration(2)
    runner.run_forever()
    assert seen
    assert all(seen)
    assert not runner.is_running


def test_run_for_duration_stops_at_the_deadline_without_overshooting() -> None:
    clock = ManualClock(START)
    runner = _runner(clock=clock)
    runner.warmup()
    runner.run_for_duration(5)
    assert runner.metrics.steps == 5
    assert clock.now() == START + timedelta(minutes=5)


def test_run_for_duration_without_sleeping_takes_bars_as_fast_as_they_come() -> None:
    clock = ManualClock(START)  # stands still unless the run waits
    runner = _runner(clock=clock, polls=[[bar] for bar in BARS[WARM : WARM + 40]])
    runner.warmup()

    runner.run_for_duration(5, sleep_between=False)

    assert runner.metrics.steps == 40  # all of them, not the 5 that waiting allows
    assert clock.now() == START
    assert runner.stop_reason == "the feed has no more bars"


def test_run_forever_ends_when_a_finite_feed_runs_out() -> None:
    runner = _runner(polls=[[bar] for bar in BARS[WARM : WARM + 7]])
    runner.warmup()
    runner.run_forever(sleep_between=False)
    assert runner.metrics.steps == 7
    assert runner.stop_reason == "the feed has no more bars"


def test_shutdown_stops_run_forever_while_it_waits() -> None:
    runner = _runner(polls=[], finite=False, clock=SystemClock(), poll_interval_seconds=3600.0)
    runner.warmup()
    thread = threading.Thread(target=runner.run_forever)
    thread.start()
    deadline = time.monotonic() + 5
    while not runner.is_running and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.shutdown("test stop")
    thread.join(timeout=60)  # a run that waited out the hour's poll would still be alive
    assert not thread.is_alive()
    assert runner.stop_reason == "test stop"


def test_consecutive_step_failures_end_the_session() -> None:
    boom = RuntimeError("feed hiccup")
    runner = _runner(polls=[boom, boom, boom], finite=False, max_consecutive_errors=3)
    runner.warmup()
    with pytest.raises(
        SessionRuntimeError, match="3 steps failed in a row; last: RuntimeError: feed hiccup"
    ):
        runner.run_forever(sleep_between=False)
    assert runner.metrics.step_errors == 3


def test_a_good_step_resets_the_failure_count() -> None:
    boom = RuntimeError("hiccup")
    polls: list[Any] = [boom, boom, [BARS[WARM]], boom, boom, [BARS[WARM + 1]]]
    runner = _runner(polls=polls, max_consecutive_errors=3)
    runner.warmup()
    runner.run_forever(sleep_between=False)
    assert runner.metrics.step_errors == 4
    assert runner.metrics.steps == 2


def test_a_backtest_stops_at_its_first_failed_step_and_journals_it(tmp_path: Path) -> None:
    # Arrange: a failure a session would ride out (max_consecutive_errors is 5), then good bars
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))
    boom = ArithmeticError("the ledger's arithmetic overflowed")
    polls: list[Any] = [[BARS[WARM]], boom, [BARS[WARM + 1]], [BARS[WARM + 2]]]
    runner = _runner(polls=polls, journal=journal, kind=BacktestRunner)
    assert isinstance(runner, BacktestRunner)
    runner.configure_backtest()
    runner.warmup()

    # Act / Assert: a backtest that went on would drop the failed step's bars and exit 0
    with pytest.raises(
        SessionRuntimeError,
        match="the backtest stopped after 1 bars: ArithmeticError: the ledger's arithmetic",
    ):
        runner.run_forever(sleep_between=False)
    assert runner.metrics.steps == 1
    failed = list(journal.events(runner.run_id, "step_failed"))
    assert [event.payload["error"] for event in failed] == [
        "ArithmeticError: the ledger's arithmetic overflowed"
    ]


def test_a_strategy_error_stops_the_session_at_once() -> None:
    class Failing(ScriptedStrategy):
        def update(self, *prices: float) -> int:
            raise ZeroDivisionError("bad math")

    session = LiveSessionConfig(data_source="synthetic", warmup_candles=0)
    engine = build_engine(Failing(ScriptedParams()), engine_settings(session), PeakConfig.default())
    runner = LiveSessionRunner(
        session, engine, ScriptedFeed([], [[BARS[0]]]), clock=ManualClock(START)
    )
    runner.warmup()
    with pytest.raises(StrategyError, match=r"failed on the bar of .*ZeroDivisionError: bad math"):
        runner.run_n_steps(1)
    assert runner.stop_reason is not None
    assert runner.stop_reason.startswith("StrategyError")


def test_run_n_steps_rejects_zero() -> None:
    runner = _runner()
    runner.warmup()
    with pytest.raises(ConfigError, match="steps must be > 0, was 0"):
        runner.run_n_steps(0)


def test_journal_holds_the_whole_story_of_a_run(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        runner = _runner(targets=(0, 1, 1, 0), journal=journal)
        runner.recorder.started(runner.config.to_dict(), START)
        runner.warmup()
        runner.run_n_steps(6)
        kinds = [event.kind for event in journal.events(runner.run_id)]
    assert kinds[:3] == ["run_started", "warmup", "run_plan"]
    assert kinds.count("bar") == 6
    assert kinds.count("fill") == 2
    assert kinds.count("order") == 2
    assert kinds.count("safety") == 2
    assert kinds.count("target_changed") == 2
    assert kinds[-1] == "run_stopped"


def test_from_config_refuses_a_run_id_the_journal_already_holds(tmp_path: Path) -> None:
    config = LiveSessionConfig(data_source="synthetic", run_id="twice", synthetic_bars=400)
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        first = LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)
        first.warmup()
        first.run_n_steps(3)
        events = len(list(journal.events("twice")))

        with pytest.raises(ConfigError, match=r"already holds a run 'twice'.*--resume twice"):
            LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)
        resumed = LiveSessionRunner.resume("twice", journal, PeakConfig.default())

        assert len(list(journal.events("twice"))) == events + 1  # run_resumed, nothing else
        assert resumed.metrics.steps == 3


def _states(journal: Journal, run_id: str) -> list[tuple[str, str]]:
    return [(e.payload["to"], e.payload["reason"]) for e in journal.events(run_id, "trading_state")]


def _limits(journal: Journal, run_id: str) -> list[str]:
    return [e.payload["changes"] for e in journal.events(run_id, "risk_limits")]


def test_a_run_resumed_under_an_edited_limit_replays_its_own_and_trades_under_the_new(
    tmp_path: Path,
) -> None:
    # Arrange: run "dd" trips REDUCING under a tight drawdown limit; "plain" runs under the
    # default limits and trips nothing
    tight = PeakConfig.from_mapping({"live_risk": {"max_drawdown_pct": 0.01}})
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        for run_id, cfg in (("dd", tight), ("plain", PeakConfig.default())):
            config = LiveSessionConfig(data_source="synthetic", run_id=run_id, synthetic_bars=900)
            runner = LiveSessionRunner.from_config(config, cfg, journal=journal)
            runner.warmup()
            runner.run_n_steps(45)  # one entry and its exit
        before = _states(journal, "dd"), _states(journal, "plain")

        # Act: resume both twice with the tight limit in the config file
        for _ in range(2):
            for run_id in ("dd", "plain"):
                LiveSessionRunner.resume(run_id, journal, tight)
        after = _states(journal, "dd"), _states(journal, "plain")
        limits = _limits(journal, "dd"), _limits(journal, "plain")

        # ...then trade on under it, and resume once more
        resumed = LiveSessionRunner.resume("plain", journal, tight)
        resumed.run_n_steps(45)
        fills = journal.count("plain", "fill")
        again = LiveSessionRunner.resume("plain", journal, tight)

    # Assert: each run replays under the limits it had, so nothing is tripped after the fact;
    # "plain" takes the tight limit from its resume on (journaled once) and trips it trading on
    assert [state for state, _ in before[0]] == ["reducing"]
    assert after == before == (before[0], [])
    assert limits == ([], ["[live_risk] max_drawdown_pct None → 0.01"])
    assert [state for state, _ in _states_of(resumed)] == ["reducing"]
    # the last resume replays the switch to the tight limit where the journal has it: same
    # fills, or it would have refused
    assert again.engine.ledger.trades == fills
    assert _limits_count(again) == 1


def _states_of(runner: LiveSessionRunner) -> list[tuple[str, str]]:
    risk = runner.engine.pipeline.risk_limits
    assert risk is not None
    return [(event.state.value, event.reason) for event in risk.events]


def _limits_count(runner: LiveSessionRunner) -> int:
    return len(runner.recorder.events("risk_limits"))


def test_a_resumed_run_keeps_the_strategy_parameters_it_started_with(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def run(run_id: str) -> LiveSessionRunner:
        config = LiveSessionConfig(data_source="synthetic", run_id=run_id, synthetic_bars=2_000)
        runner = LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)
        runner.warmup()
        return runner

    faster = PeakConfig.from_mapping({"strategy": {"ma_crossover": {"fast_window": 5}}})
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        run("whole").run_n_steps(600)
        run("cut").run_n_steps(300)
        at_cut = journal.count("cut", "fill")
        LiveSessionRunner.resume("cut", journal, faster).run_n_steps(300)
        whole, cut = ([e.payload for e in journal.events(r, "fill")] for r in ("whole", "cut"))

    assert 0 < at_cut < len(whole)  # fills both before and after the cut
    assert cut == whole
    assert "keeps the strategy parameters it started with" in caplog.text
    assert "[strategy.ma_crossover] fast_window 20 → 5" in caplog.text


def test_a_journal_without_settings_resumes_under_the_config_file(tmp_path: Path) -> None:
    # Arrange: a run as journals held it before settings were kept: run_started has no settings
    tight = PeakConfig.from_mapping({"live_risk": {"max_drawdown_pct": 0.01}})
    config = LiveSessionConfig(data_source="synthetic", run_id="old", synthetic_bars=900)
    with Journal(tmp_path / "new.sqlite", clock=ManualClock(START)) as journal:
        runner = LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)
        runner.warmup()
        runner.run_n_steps(45)
    _copy_without_settings(tmp_path / "new.sqlite", tmp_path / "old.sqlite")

    # Act: resume it twice under the tight limit
    with Journal(tmp_path / "old.sqlite", clock=ManualClock(START)) as journal:
        for _ in range(2):
            LiveSessionRunner.resume("old", journal, tight)
        states, limits = _states(journal, "old"), _limits(journal, "old")

    # Assert: replayed under the file's limit, as before: its change is journaled once
    assert [state for state, _ in states] == ["reducing"]
    assert limits == []


def _copy_without_settings(source: Path, target: Path) -> None:
    rows = sqlite3.connect(source).execute(
        "SELECT run_id, kind, ts_event, ts_init, payload FROM events ORDER BY seq"
    )
    with Journal(target) as journal:
        for run_id, kind, ts_event, _, payload in rows:
            data = json.loads(payload)
            data.pop("settings", None)
            moment = datetime.fromisoformat(ts_event) if ts_event else None
            journal.append(run_id, kind, moment, data)
        journal.commit()


def test_settings_changes_list_each_changed_key_once() -> None:
    then = {"live_risk": {"max_order_notional": 2000.0, "enabled": True}, "strategy.x": {"w": 3}}
    now = {"live_risk": {"max_order_notional": 1.0, "enabled": True}, "strategy.x": {"w": 3}}
    assert settings_changes(then, now) == "[live_risk] max_order_notional 2000.0 → 1.0"
    assert settings_changes(then, then) == ""
    assert settings_changes(None, now) == ""  # a journal written before settings were kept


def test_synthetic_bars_that_the_warmup_would_take_all_are_refused_up_front() -> None:
    config = LiveSessionConfig(data_source="synthetic", synthetic_bars=200)
    with pytest.raises(
        ConfigError,
        match=r"200 synthetic bars leave none to trade after the warmup of 200 \(the bars "
        r"include the warmup\); use --bars 201 or more",
    ):
        LiveSessionRunner.from_config(config, PeakConfig.default())


def test_a_run_whose_warmup_fails_leaves_no_journal(tmp_path: Path) -> None:
    data = write_replay(tmp_path / "short.csv", list(SyntheticMarket(seed=3, bars=100)))
    config = LiveSessionConfig(data_source="replay", data_path=str(data), run_id="short")
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))
    runner = LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)

    with pytest.raises(ConfigError, match="holds only 100 bars, but warmup needs 200"):
        runner.warmup()
    journal.close()

    assert not (tmp_path / "j.sqlite").exists()  # not even its run_started


@pytest.mark.parametrize("switch_at_resume", [True, False])
def test_a_run_halted_by_its_kill_switch_resumes_halted_whether_the_file_is_there_or_not(
    tmp_path: Path, switch_at_resume: bool
) -> None:
    # Arrange: the kill switch appears after 300 bars; entries after it are refused
    switch = tmp_path / "STOP"
    cfg = PeakConfig.from_mapping({"live_risk": {"kill_switch_file": str(switch)}})
    config = LiveSessionConfig(data_source="synthetic", run_id="ks", synthetic_bars=2_000)
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        runner = LiveSessionRunner.from_config(config, cfg, journal=journal)
        runner.warmup()
        runner.run_n_steps(300)
        switch.touch()
        runner.run_n_steps(300)
        before = _states(journal, "ks"), journal.count("ks", "fill")
        assert journal.count("ks", "order_denied") > 0
        if not switch_at_resume:
            switch.unlink()

        # Act
        resumed = LiveSessionRunner.resume("ks", journal, cfg)

        # Assert: the same fills (or resume would have refused), halted, nothing written twice
        risk = resumed.engine.pipeline.risk_limits
        assert risk is not None
        assert risk.state is TradingState.HALTED
        assert (_states(journal, "ks"), journal.count("ks", "fill")) == before
        assert resumed.engine.ledger.trades == before[1]


def test_a_kill_switch_that_appears_while_nothing_trades_halts_at_the_next_bar(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: a flat strategy, so no order is ever checked
    switch = tmp_path / "STOP"
    cfg = PeakConfig.from_mapping({"live_risk": {"kill_switch_file": str(switch)}})
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM, run_id="flat")
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,)))
    engine = build_engine(strategy, engine_settings(session), cfg)
    feed = ScriptedFeed(BARS[:WARM], [[bar] for bar in BARS[WARM:]])
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        runner = LiveSessionRunner(session, engine, feed, journal=journal)
        runner.warmup()
        runner.run_n_steps(3)

        # Act
        switch.touch()
        runner.run_n_steps(1)

        # Assert: halted at that bar, journaled and logged, though no order was checked
        states = [(e.ts_event, e.payload["to"]) for e in journal.events("flat", "trading_state")]
        assert journal.count("flat", "order") == 0
    assert runner.get_summary()["trading_state"] == "halted"
    assert states == [(BARS[WARM + 3].time.isoformat(), "halted")]
    assert (
        f"flat: trading state active → halted at the bar of {BARS[WARM + 3].time.isoformat()}"
        in caplog.text
    )


def test_a_run_halted_while_flat_resumes_halted_without_its_kill_switch_file(
    tmp_path: Path,
) -> None:
    # Arrange: run until flat, then the switch appears for a few bars and is removed
    switch = tmp_path / "STOP"
    cfg = PeakConfig.from_mapping({"live_risk": {"kill_switch_file": str(switch)}})
    config = LiveSessionConfig(data_source="synthetic", run_id="flat", synthetic_bars=2_000)
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        runner = LiveSessionRunner.from_config(config, cfg, journal=journal)
        runner.warmup()
        runner.run_n_steps(300)
        while runner.engine.ledger.position("BTC/EUR") != 0 or runner.engine.target != 0:
            runner.run_n_steps(1)
        switch.touch()
        runner.run_n_steps(5)
        switch.unlink()
        before = _states(journal, "flat"), journal.count("flat", "fill")

        # Act
        resumed = LiveSessionRunner.resume("flat", journal, cfg)

        # Assert: the replay halts at the journaled bar; nothing is written twice
        risk = resumed.engine.pipeline.risk_limits
        assert risk is not None
        assert risk.state is TradingState.HALTED
        assert before[0] == [("halted", f"kill switch file {switch} exists")]
        assert (_states(journal, "flat"), journal.count("flat", "fill")) == before


def test_an_operators_state_change_is_restored_where_the_journal_has_it(tmp_path: Path) -> None:
    config = LiveSessionConfig(data_source="synthetic", run_id="op", synthetic_bars=2_000)
    with Journal(tmp_path / "j.sqlite", clock=ManualClock(START)) as journal:
        runner = LiveSessionRunner.from_config(config, PeakConfig.default(), journal=journal)
        runner.warmup()
        runner.run_n_steps(200)
        risk = runner.engine.pipeline.risk_limits
        assert risk is not None
        risk.set_trading_state(TradingState.REDUCING, "maintenance", START)
        runner.run_n_steps(300)
        before = _states(journal, "op"), journal.count("op", "fill")

        resumed = LiveSessionRunner.resume("op", journal, PeakConfig.default())

        restored = resumed.engine.pipeline.risk_limits
        assert restored is not None
        assert restored.state is TradingState.REDUCING
        assert before[0] == [("reducing", "operator: maintenance")]
        assert (_states(journal, "op"), journal.count("op", "fill")) == before


def test_a_warmup_shorter_than_the_strategy_needs_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # Arrange: the strategy needs 5 bars; the feed has only 3 of history
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM, run_id="short")
    strategy = ScriptedStrategy(ScriptedParams(required=WARM))
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    feed = ScriptedFeed(BARS[:3], [])
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))
    runner = LiveSessionRunner(session, engine, feed, journal=journal)

    # Act / Assert
    with pytest.raises(DataError, match="the warmup got 3 BTC/EUR bars, but ma_crossover needs 5"):
        runner.warmup()
    assert not runner.is_warmup_done
    journal.close()
    assert not (tmp_path / "j.sqlite").exists()
