"""Portfolio sessions: a journal per leg, kill -9 and resume, status, the backtest's journal."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.journal.store import Journal
from peak_trade.testing.cli import run_peak, spawn_peak, wait_for_bars

PORTFOLIO = """
[[leg]]
strategy = "ma_crossover"
symbol = "BTC/EUR"
weight = 0.5
params = { fast_window = 5, slow_window = 20 }

[[leg]]
strategy = "rsi_reversion"
symbol = "ETH/EUR"

[[leg]]
strategy = "breakout"
symbol = "SOL/EUR"
"""


def _setup(folder: Path) -> list[str]:
    (folder / "config.toml").write_text("[live_risk]\nmax_open_positions = 2\n")
    (folder / "portfolio.toml").write_text(PORTFOLIO)
    return ["--config=config.toml", "--portfolio=portfolio.toml", "--data=synthetic"]


def _summary(report: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((report / "summary.json").read_text())
    return summary


def test_a_killed_portfolio_session_resumes_to_the_same_fills_and_ledger(tmp_path: Path) -> None:
    flags = _setup(tmp_path)
    whole = run_peak(
        "session", *flags, "--steps=1200", "--no-sleep", "--journal=whole.sqlite",
        "--run-id=whole", "--report-dir=whole", cwd=tmp_path,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr

    child = spawn_peak(
        "session", *flags, "--steps=1200", "--poll-interval=0.005", "--journal=cut.sqlite",
        "--run-id=cut", "--report-dir=cut", cwd=tmp_path, quiet=True,
    )  # fmt: skip
    try:
        wait_for_bars(tmp_path / "cut.sqlite", "cut.leg3", 300)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    crashed = run_peak("status", "cut", "--journal=cut.sqlite", "--json", cwd=tmp_path)
    row = json.loads(crashed.stdout)["runs"][0]
    assert row["state"] == "crashed"
    assert 0 < row["bars"] < 3 * 1200
    resumed = run_peak(
        "session", "--resume=cut", "--config=config.toml", "--journal=cut.sqlite",
        "--report-dir=cut", "--no-sleep", cwd=tmp_path,
    )  # fmt: skip

    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "cut" / "trades.csv").read_bytes() == (
        tmp_path / "whole" / "trades.csv"
    ).read_bytes()
    cut, uncut = _summary(tmp_path / "cut"), _summary(tmp_path / "whole")
    assert cut["ledger"] == uncut["ledger"]
    assert [leg["bars"] for leg in cut["legs"]] == [1200, 1200, 1200]
    assert sum(leg["fills"] for leg in cut["legs"]) > 20
    with Journal(tmp_path / "cut.sqlite", read_only=True) as journal:
        assert journal.run_ids() == ["cut"]  # the legs' runs are the portfolio's, not listed
        assert journal.count("cut", "run_resumed") == 1
    same = run_peak("reconcile", "cut", "--journal=cut.sqlite", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "3,600 bars replayed, no difference" in same.stdout
    (tmp_path / "strict.toml").write_text("[live_risk]\nmax_open_positions = 1\n")
    strict = run_peak(
        "reconcile", "cut", "--journal=cut.sqlite", "--config=strict.toml", "--json", cwd=tmp_path
    )
    report = json.loads(strict.stdout)
    assert report["bars_with_differences"] > 0
    assert report["first"]["item"].split()[0] in {
        "ma_crossover:BTC/EUR", "rsi_reversion:ETH/EUR", "breakout:SOL/EUR"
    }  # fmt: skip
    assert "max_open_positions: 2 symbols would be held" in json.dumps(report["differences"])
    finished = run_peak("status", "--journal=cut.sqlite", "--json", cwd=tmp_path)
    row = json.loads(finished.stdout)["runs"][0]
    assert (row["state"], row["bars"]) == ("finished", 3 * 1200)
    assert row["symbol"] == "BTC/EUR,ETH/EUR,SOL/EUR"


def test_a_portfolio_backtest_journals_each_leg_and_its_fills(tmp_path: Path) -> None:
    flags = _setup(tmp_path)

    done = run_peak(
        "backtest", *flags, "--bars=3000", "--journal=bt.sqlite", "--run-id=bt",
        "--report-dir=report", "--json", cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    with sqlite3.connect(tmp_path / "bt.sqlite") as db:
        fills = dict(
            db.execute("SELECT run_id, COUNT(*) FROM events WHERE kind = 'fill' GROUP BY run_id")
        )
        stopped = db.execute(
            "SELECT payload FROM events WHERE run_id = 'bt' AND kind = 'run_stopped'"
        ).fetchone()
    assert fills == {f"bt.leg{i + 1}": leg["fills"] for i, leg in enumerate(summary["legs"])}
    journaled = json.loads(stopped[0])["summary"]
    assert journaled["ledger"]["equity"] == summary["ledger"]["equity"]
    assert Decimal(journaled["ledger"]["net_pnl"]) == sum(
        (Decimal(leg["pnl"]) for leg in summary["legs"]), Decimal(0)
    )


def test_a_portfolio_session_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    flags = _setup(tmp_path)
    child = spawn_peak(
        "session", *flags, "--poll-interval=0.01", "--journal=j.sqlite", "--run-id=term",
        "--report-dir=report", cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_for_bars(tmp_path / "j.sqlite", "term.leg1", 50)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()

    assert child.returncode == 0, err
    assert "Traceback" not in err
    summary = _summary(tmp_path / "report")
    assert summary["stop_reason"] == "SIGTERM received"
    with Journal(tmp_path / "j.sqlite", read_only=True) as journal:
        assert journal.count("term", "run_stopped") == 1
    assert "Legs" in out


def _status(folder: Path, journal: str, run_id: str) -> dict[str, Any]:
    done = run_peak("status", run_id, f"--journal={journal}", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    row: dict[str, Any] = json.loads(done.stdout)["runs"][0]
    return row


def test_an_operator_halt_holds_the_whole_account_through_kill_9_and_a_restart(
    tmp_path: Path,
) -> None:
    flags = _setup(tmp_path)
    restart = [*flags, "--run-id=ops", "--resume-or-start", "--journal=ops.sqlite"]
    restart += ["--poll-interval=0.05", "--steps=400"]
    child = spawn_peak("session", *restart, cwd=tmp_path, quiet=True)
    try:
        wait_for_bars(tmp_path / "ops.sqlite", "ops.leg1", 20)
        sent = run_peak("control", "ops", "halt", "--journal=ops.sqlite", cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 30
        while _status(tmp_path, "ops.sqlite", "ops")["trading_state"] != "halted":
            assert time.monotonic() < deadline, "the halt was not applied"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    other = run_peak(
        "session", "--config=config.toml", "--leg=ma_crossover:BTC/EUR", "--leg=macd:ETH/EUR",
        "--data=synthetic", "--run-id=ops", "--resume-or-start", "--journal=ops.sqlite",
        cwd=tmp_path,
    )  # fmt: skip
    again = run_peak("session", *restart, "--no-sleep", "--report-dir=ops", cwd=tmp_path)

    assert other.returncode == 2
    assert "legs ma_crossover:BTC/EUR+rsi_reversion:ETH/EUR+breakout:SOL/EUR" in other.stderr
    assert again.returncode == 0, again.stderr
    assert _status(tmp_path, "ops.sqlite", "ops")["trading_state"] == "halted"
    with Journal(tmp_path / "ops.sqlite", read_only=True) as journal:
        (operator,) = [e.payload for e in journal.events("ops", "operator")]
        (halt,) = list(journal.events("ops", "trading_state"))
        denied = [
            e.payload
            for i in (1, 2, 3)
            for e in journal.events(f"ops.leg{i}", "order_denied")
            if e.seq > halt.seq
        ]
        bars = sum(journal.count(f"ops.leg{i}", "bar") for i in (1, 2, 3))
    assert operator["command"] == "halt"
    assert (halt.payload["from"], halt.payload["to"]) == ("active", "halted")
    assert halt.payload["reason"].startswith("operator: halt (terminal")
    assert bars == 3 * 400  # the restart traded the bars the run still owed, halted
    # every order after the halt, before the kill and after the restart, was refused by it
    assert denied
    assert all(d["reasons"] == ["risk: trading_halted: trading is halted; no order may go out"]
               for d in denied)  # fmt: skip
