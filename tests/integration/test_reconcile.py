"""Reconciliation: a shadow session equals its backtest; divergences are found and explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from peak_trade.backtest.reconcile import reconcile
from peak_trade.backtest.runner import BacktestRunner
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.store import Journal
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.testing.cli import run_peak
from peak_trade.testing.kraken_emulator import Fault
from tests.integration.conftest import KEY, SECRET, Exchange

SHIPPED = Path(__file__).parents[2] / "config" / "config.toml"


def _run(journal: Journal, cfg: PeakConfig, steps: int, **changes: object) -> LiveSessionRunner:
    config = LiveSessionConfig(data_source="synthetic", run_id="r", seed=3, **changes)  # type: ignore[arg-type]
    runner = LiveSessionRunner.from_config(config, cfg, journal=journal)
    runner.warmup()
    runner.run_n_steps(steps)
    return runner


def test_a_shadow_session_reconciles_with_no_difference(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        runner = _run(journal, PeakConfig.default(), 2_500)
        report = reconcile(journal, "r", PeakConfig.default())
    assert runner.metrics.orders_executed > 10
    assert report.bars == 2_500
    assert report.differences == []


def test_a_backtest_journaled_in_packed_runs_reconciles_bar_by_bar(tmp_path: Path) -> None:
    # Arrange: a run configured as a backtest journals its quiet bars as `bars` events
    config = LiveSessionConfig(data_source="synthetic", run_id="bt", seed=3, synthetic_bars=4_000)
    with Journal(tmp_path / "j.sqlite") as journal:
        runner = BacktestRunner.from_config(config, PeakConfig.default(), journal=journal)
        runner.configure_backtest()
        runner.warmup()
        runner.run_forever(sleep_between=False)
        packed = journal.count("bt", "bars")

        # Act: against the same config, then against a strategy that crosses earlier
        same = reconcile(journal, "bt", PeakConfig.default())
        other = PeakConfig.from_mapping({"strategy": {"ma_crossover": {"fast_window": 5}}})
        changed = reconcile(journal, "bt", other)

    # Assert
    assert packed > 10
    assert same.bars == runner.metrics.steps == 4_000 - config.warmup_candles
    assert same.differences == []
    assert changed.first is not None
    assert changed.first.item == "target"
    assert changed.first.why == "the strategy saw different data or state"
    # the run's settings are in its journal, so the likely cause is named
    assert same.settings_changed == ""
    assert changed.settings_changed == "[strategy.ma_crossover] fast_window 20 → 5"


def test_a_data_path_for_a_session_that_journaled_every_bar_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        _run(journal, PeakConfig.default(), 300)
        with pytest.raises(ConfigError, match="--data-path is for a backtest that journaled"):
            reconcile(journal, "r", PeakConfig.default(), data_path=tmp_path / "bars.csv")


def test_a_run_resumed_under_edited_limits_reconciles_under_them_from_its_resume(
    tmp_path: Path,
) -> None:
    # Arrange: 300 bars under the default limits, then a resume under a limit that denies
    # every entry, and 900 more bars
    tight = PeakConfig.from_mapping({"live_risk": {"max_order_notional": 1.0}})
    with Journal(tmp_path / "j.sqlite") as journal:
        first = _run(journal, PeakConfig.default(), 300, config_path=str(SHIPPED))
        fills_before = first.metrics.orders_executed
        resumed = LiveSessionRunner.resume("r", journal, tight)
        resumed.run_n_steps(900)
        denied = journal.count("r", "order_denied")
        cut = next(iter(journal.events("r", "risk_limits")))

        # Act: with the run's own settings, and with the config it started under
        own = reconcile(journal, "r")
        start = reconcile(journal, "r", PeakConfig.default())

    # Assert: the backtest takes the edited limit where the run did, and agrees bar by bar
    assert fills_before > 2
    assert denied > 2
    assert own.bars == 1_200
    assert own.differences == []
    last_bar = first.metrics.last_bar_time
    assert last_bar is not None
    assert own.limits_changed == [(last_bar.isoformat(), cut.payload["changes"])]
    assert "max_order_notional" in cut.payload["changes"]
    # under the start limits only, the first entry after the resume is where they part
    assert start.first is not None
    assert start.first.item == "denial"
    assert start.first.bar_time > own.limits_changed[0][0]
    assert "max_order_notional" in start.first.session
    assert start.limits_changed == own.limits_changed


def test_a_kill_switch_only_the_session_saw_is_the_first_divergence(tmp_path: Path) -> None:
    switch = tmp_path / "STOP"
    cfg = PeakConfig.from_mapping({"live_risk": {"kill_switch_file": str(switch)}})
    with Journal(tmp_path / "j.sqlite") as journal:
        runner = _run(journal, cfg, 600)
        switch.write_text("stop")
        runner.run_n_steps(600)
        report = reconcile(journal, "r", cfg)
    assert report.first is not None
    assert report.first.item == "denial"
    assert "trading_halted" in report.first.session
    assert "kill switch" in report.first.why
    halted_at = next(e.ts for e in runner.pipeline.risk_limits.events)  # type: ignore[union-attr]
    assert report.first.bar_time >= (halted_at.isoformat())


def test_a_kraken_rejection_in_testnet_is_explained(
    kraken: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRAKEN_TESTNET_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_TESTNET_API_SECRET", SECRET)
    cfg = PeakConfig.from_mapping(
        {"exchange": {"kraken": {"base_url": kraken.url, "nonce_file": str(tmp_path / "nonce")}}}
    )
    kraken.emulator.script(Fault("AddOrder", "insufficient_funds"))
    with Journal(tmp_path / "j.sqlite") as journal:
        _run(journal, cfg, 800, mode="testnet")
        report = reconcile(journal, "r", cfg)
    assert report.first is not None
    assert report.first.item == "rejection"
    assert "EOrder:Insufficient funds" in report.first.session
    assert report.first.why == "the venue rejected it in the session"


def test_reconcile_command_reports_and_refuses_unknown_runs(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[2] / "config" / "config.toml"
    config = tmp_path / "config.toml"
    config.write_text(shipped.read_text())
    session = run_peak(
        "session",
        "--config",
        str(config),
        "--data",
        "synthetic",
        "--steps",
        "500",
        "--no-sleep",
        "--run-id",
        "clean",
        "--no-registry",
        "--json",
        cwd=tmp_path,
        timeout=120,
    )
    assert session.returncode == 0, session.stderr
    done = run_peak(
        "reconcile",
        "clean",
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "clean: 500 bars replayed, no difference" in done.stdout
    assert "note:" not in done.stdout
    # The config file is edited after the run: reconcile still uses the run's own settings...
    config.write_text(
        shipped.read_text().replace("max_order_notional = 2000.0", "max_order_notional = 1.0")
    )
    edited = run_peak("reconcile", "clean", cwd=tmp_path, timeout=120)
    assert edited.returncode == 0, edited.stderr
    assert "clean: 500 bars replayed, no difference" in edited.stdout
    # ...unless told to use the edited file, and then it says what differs
    other = run_peak("reconcile", "clean", "--config", str(config), cwd=tmp_path, timeout=120)
    assert other.returncode == 0, other.stderr
    assert (
        "note: the config is not the one the run had "
        "([live_risk] max_order_notional 2000.0 → 1.0)" in other.stdout
    )
    # A resume under the edited file takes its limit from there on; reconcile does the same
    resumed = run_peak(
        "session", "--config", str(config), "--resume", "clean", "--no-sleep", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    after = run_peak("reconcile", "clean", cwd=tmp_path, timeout=120)
    assert after.returncode == 0, after.stderr
    assert "clean: 500 bars replayed, no difference" in after.stdout
    assert (
        "note: the run was resumed after the bar of 2024-01-01T11:39:00+00:00 and checked "
        "orders against edited limits from there ([live_risk] max_order_notional 2000.0 → 1.0); "
        "so does the backtest" in after.stdout
    )
    missing = run_peak(
        "reconcile",
        "other",
        cwd=tmp_path,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "no run 'other' in the journal" in missing.stderr
    empty = run_peak("reconcile", "", cwd=tmp_path, timeout=120)
    assert empty.returncode == 2
    assert "argument RUN_ID: expected the id of a run in the journal, was empty" in empty.stderr


def test_a_backtest_is_found_in_the_backtests_journal_and_named(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    shipped = Path(__file__).parents[2] / "config" / "config.toml"
    (tmp_path / "config" / "config.toml").write_text(shipped.read_text())
    backtest = run_peak(
        "backtest",
        "--data",
        "synthetic",
        "--bars",
        "400",
        "--run-id",
        "bt",
        cwd=tmp_path,
        timeout=120,
    )
    assert backtest.returncode == 0, backtest.stderr

    result = run_peak("reconcile", "bt", cwd=tmp_path, timeout=120)

    assert result.returncode == 2
    assert (
        "no run 'bt' in the journal journal/peak_trade.sqlite, but journal/backtest.sqlite has "
        "it (`peak-trade backtest` journals there); add --journal journal/backtest.sqlite"
    ) in result.stderr
    assert not (tmp_path / "journal" / "peak_trade.sqlite").exists()
    named = run_peak(
        "reconcile", "bt", "--journal", "journal/backtest.sqlite", cwd=tmp_path, timeout=120
    )
    assert named.returncode == 0, named.stderr
    assert "bt: 200 bars replayed, no difference" in named.stdout


def test_reconcile_without_a_journal_says_so_and_creates_none(tmp_path: Path) -> None:
    result = run_peak(
        "reconcile",
        "run1",
        cwd=tmp_path,
        timeout=120,
    )

    assert result.returncode == 2
    expected = (
        "no journal at journal/peak_trade.sqlite; name the one the run wrote with --journal (a "
        "run stopped before its warmup ended is not journaled: start it again)"
    )
    assert expected in result.stderr
    assert list(tmp_path.iterdir()) == []
