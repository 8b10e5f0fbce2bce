"""A portfolio backtest's column path trades exactly as bar time by bar time does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from peak_trade.core.clock import ManualClock
from peak_trade.core.legs import Leg, with_weights
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.journal.schema import leg_run_id
from peak_trade.journal.store import Journal
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.report.portfolio import PortfolioLog
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.portfolio_run import PortfolioRun
from peak_trade.testing.cli import run_peak

LEGS = [Leg("ma_crossover", "BTC/EUR"), Leg("rsi_reversion", "ETH/EUR"), Leg("macd", "SOL/EUR")]


def _run(folder: Path, columns: bool, live_risk: dict[str, Any]) -> tuple[Any, ...]:
    config = LiveSessionConfig(
        data_source="synthetic",
        synthetic_bars=12_000,
        seed=5,
        run_id="columns" if columns else "bars",
        allow_short=True,
        position_fraction=0.9,
    )
    cfg = PeakConfig.from_mapping({"live_risk": live_risk})
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    legs = with_weights(LEGS)
    journal = Journal(folder / f"{config.run_id}.sqlite", clock=clock)
    run = PortfolioRun.start(config, cfg, legs, clock=clock, journal=journal, backtest=True)
    run.columns, run.bar_clock = columns, clock
    log = PortfolioLog(legs, PerformanceStats(10_000.0, Timeframe("1m").bars_per_year()))
    run.on_time, run.on_quiet = log.on_time, log.on_quiet
    run.warmup()
    run.run()
    ledger = run.engine.ledger
    fills = [
        [e.payload for e in journal.events(leg_run_id(run.run_id, i), "fill")] for i in range(3)
    ]
    denials = [
        [e.payload for e in journal.events(leg_run_id(run.run_id, i), "order_denied")]
        for i in range(3)
    ]
    journal.close()
    seconds, equity, drawdown, positions = log.account.joined(3)
    figures = (ledger.cash, ledger.equity, ledger.peak_equity, ledger.max_drawdown)
    return (
        (*figures, ledger.max_drawdown_pct, ledger.day_pnl(), ledger.bars_in_market),
        fills,
        denials,
        log.stats.result(),
        (seconds.tolist(), equity.tolist(), drawdown.tolist(), positions.tolist()),
        run.risk.events if run.risk is not None else [],
    )


@pytest.mark.parametrize(
    "live_risk",
    [{}, {"max_open_positions": 1, "max_drawdown_pct": 6.0, "max_daily_loss_pct": 2.0}],
    ids=["no limits", "limits that bite"],
)
def test_columns_and_bar_by_bar_give_the_same_fills_ledger_marks_and_statistics(
    tmp_path: Path, live_risk: dict[str, Any]
) -> None:
    by_columns = _run(tmp_path, True, live_risk)
    by_bars = _run(tmp_path, False, live_risk)

    assert by_columns[0] == by_bars[0]  # the ledger, exactly
    assert by_columns[1] == by_bars[1]  # every leg's fills
    assert by_columns[2] == by_bars[2]  # every leg's denials
    assert by_columns[3] == by_bars[3]  # the statistics
    assert by_columns[4] == by_bars[4]  # the account at every bar time
    assert [(e.state, e.reason) for e in by_columns[5]] == [(e.state, e.reason) for e in by_bars[5]]
    assert sum(len(f) for f in by_columns[1]) > 50
    assert len(by_columns[4][0]) == 12_000 - 200
    assert np.isfinite(by_columns[4][1]).all()
    if live_risk:
        assert by_columns[2][0] or by_columns[2][1] or by_columns[2][2]


def test_a_column_backtest_reconciles_bar_by_bar_with_no_difference(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[live_risk]\nmax_open_positions = 2\n")
    legs = ["--leg=ma_crossover:BTC/EUR", "--leg=rsi_reversion:ETH/EUR", "--leg=macd:SOL/EUR"]
    done = run_peak(
        "backtest", *legs, "--data=synthetic", "--bars=9000", "--run-id=col",
        "--journal=bt.sqlite", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    checked = run_peak("reconcile", "col", "--journal=bt.sqlite", cwd=tmp_path)

    assert checked.returncode == 0, checked.stderr
    assert "26,400 bars replayed, no difference" in checked.stdout


@pytest.mark.parametrize("columns", [True, False], ids=["as columns", "bar by bar"])
def test_a_backtest_replays_from_its_journal_to_the_same_ledger_either_way(
    tmp_path: Path, columns: bool
) -> None:
    figures, *_ = _run(tmp_path, True, {"max_drawdown_pct": 6.0})
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    journal = Journal(tmp_path / "columns.sqlite", clock=clock)
    cfg = PeakConfig.from_mapping({"live_risk": {"max_drawdown_pct": 6.0}})
    resumed = PortfolioRun.resume("columns", journal, cfg, clock=clock, backtest=True)
    resumed.columns = columns
    resumed.replay()

    ledger = resumed.engine.ledger
    again = (ledger.cash, ledger.equity, ledger.peak_equity, ledger.max_drawdown)
    assert (*again, ledger.max_drawdown_pct, ledger.day_pnl(), ledger.bars_in_market) == figures
    assert resumed.bar_times == 12_000 - 200
    assert resumed.run() == "end of data"  # nothing was left to trade
    assert resumed.bar_times == 12_000 - 200
    journal.close()
