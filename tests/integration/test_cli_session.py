"""The session command as a user runs it: subprocesses, exit codes, files, crash and resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from peak_trade.cli.restart import remaining_duration
from peak_trade.cli.session import build_parser, run_session, session_config_from
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.journal.store import JournalEvent
from peak_trade.testing.cli import journaled

REPO = Path(__file__).parents[2]
SCRIPT = REPO / "scripts" / "run_execution_session.py"
CONFIG = REPO / "config" / "config.toml"


def _cli(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, str(SCRIPT), "--config", str(CONFIG), *args]


def _run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _cli(*args, cwd=cwd),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- the document's CLI smoke cases ---------------------------------------------------------------


def test_cli_help(tmp_path: Path) -> None:
    result = _run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for text in (
        "Strategy-to-Execution Session",
        "--mode",
        "--strategy",
        "--symbol",
        "--steps",
        "--warmup-candles",
        "--no-sleep",
        "--resume",
    ):
        assert text in result.stdout


def test_cli_list_strategies(tmp_path: Path) -> None:
    result = _run("--list-strategies", cwd=tmp_path)
    assert result.returncode == 0
    assert "Available strategies" in result.stdout
    assert "ma_crossover" in result.stdout
    assert "Total: 8 strategies" in result.stdout


def test_cli_dry_run_builds_everything_offline_and_trades_nothing(tmp_path: Path) -> None:
    result = _run("--strategy", "ma_crossover", "--data", "synthetic", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dry run: shadow session" in result.stdout
    assert "needs 51 bars" in result.stdout
    assert "ShadowOrderExecutor" in result.stdout
    assert "nothing was traded" in result.stdout
    assert not (tmp_path / "journal").exists()
    assert not (tmp_path / "reports").exists()


def test_cli_dry_run_with_unknown_strategy_exits_2(tmp_path: Path) -> None:
    result = _run("--strategy", "nope", "--data", "synthetic", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: unknown strategy 'nope'" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("run_execution_session.py: error: ")


def test_cli_invalid_mode_rejected(tmp_path: Path) -> None:
    result = _run("--mode", "live", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'live'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "expected a whole number > 0, was 0"),
        (["--steps", "-5"], "expected a whole number > 0, was -5"),
        (["--duration", "0"], "expected a finite number > 0, was 0"),
        (["--position-fraction", "1.5"], r"expected a number in (0, 1], was 1.5"),
        (["--timeframe", "3m"], "invalid choice: '3m'"),
        (["--max-consecutive-errors", "0"], "expected a whole number > 0, was 0"),
        # counts beyond 64 bits and warmups beyond memory: refused before anything is written
        (["--steps", str(10**30)], "expected a whole number up to 1,000,000,000,000, was 1000"),
        (["--max-consecutive-errors", str(2**64)], "expected a whole number up to 1,000,000,00"),
        (
            ["--data", "synthetic", "--warmup-candles", "2000000"],
            "warmup_candles must be in [0, 100,000] (every warmup bar is journaled at once), "
            "was 2000000",
        ),
        (["--steps", "5", "--duration", "1"], "--steps and --duration both say when to stop"),
        (["--data", "synthetic", "--data-path", "a.csv"], "--data-path is read with --data replay"),
        (["--data-path", "a.csv"], "add --data replay to trade a.csv (without it the session rea"),
        (["--data", "replay", "--data-path", "a.csv", "--seed", "3"], "--seed is for --data synt"),
        (["--seed", "3", "--dry-run"], "--seed is for --data synthetic; kraken data has no seed"),
        # an unset shell variable: `--resume ""` started a new session on Kraken's market
        (["--resume", ""], "argument --resume: expected the id of a run in the journal, was em"),
        (["--run-id", " "], "argument --run-id: expected a name for the run, was empty; leave"),
        (["--journal", ""], "argument --journal: expected a path, was empty"),
        # more digits than the ledger keeps exact: 15 whole (room to grow) and 17 decimals
        (
            ["--data", "synthetic", "--start-balance", "1e12", "--fee-rate", "0.00000001"],
            "needs amounts of 32 digits (17 decimals: BTC/EUR lots have 8 and prices 1), more",
        ),
    ],
)
def test_cli_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []  # no journal, no report


def test_cli_config_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[shadow]\nfee_rate = 0.5\n")
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--config",
            str(bad),
            "--data",
            "synthetic",
            "--steps",
            "5",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "error: shadow.fee_rate: expected a number < 0.1, found 0.5" in result.stderr
    warm = _run("--data", "synthetic", "--warmup-candles", "10", "--steps", "5", cwd=tmp_path)
    assert warm.returncode == 2
    assert "warmup_candles 10 is fewer than the 51 bars ma_crossover needs" in warm.stderr


def test_cli_unreachable_kraken_fails_with_a_hint_and_no_made_up_data(tmp_path: Path) -> None:
    config = tmp_path / "closed.toml"
    config.write_text('[exchange.kraken]\nbase_url = "http://127.0.0.1:9"\nmax_retries = 0\n')
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--config",
            str(config),
            "--steps",
            "5",
            "--journal",
            str(tmp_path / "j.sqlite"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot load BTC/EUR candles from Kraken (http://127.0.0.1:9)" in result.stderr
    assert "use --data synthetic or --data replay" in result.stderr


# --- a real run --------------------------------------------------------------------------------


def test_session_json_summary_executes_orders_and_balances(tmp_path: Path) -> None:
    summary = _summary(
        _run(
            "--data",
            "synthetic",
            "--steps",
            "3000",
            "--no-sleep",
            "--json",
            "--log-level",
            "WARNING",
            cwd=tmp_path,
        )
    )
    assert summary["metrics"]["orders_executed"] > 0
    assert summary["metrics"]["steps"] == 3000
    assert summary["kind"] == "session"
    ledger = summary["ledger"]
    equity = Decimal(ledger["cash"]) + Decimal(ledger["position"]) * Decimal(ledger["last_price"])
    assert equity == Decimal(ledger["equity"])
    report = tmp_path / summary["report_dir"]
    assert sorted(p.name for p in report.iterdir()) == [
        "equity.csv",
        "equity.png",
        "round_trips.csv",
        "summary.json",
        "trades.csv",
    ]
    trades = (report / "trades.csv").read_text().splitlines()
    assert len(trades) == summary["metrics"]["orders_executed"] + 1
    rows = list(csv.DictReader((report / "equity.csv").read_text().splitlines()))
    assert len(rows) == 3000
    assert float(rows[-1]["equity"]) == float(ledger["equity"])
    assert all(float(row["drawdown"]) >= 0 for row in rows)
    assert (report / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = tmp_path / "reports" / "experiments" / "live_sessions" / f"{summary['run_id']}.json"
    assert json.loads(record.read_text())["metrics"]["steps"] == 3000


def test_cli_table_shows_summary_and_report_path(tmp_path: Path) -> None:
    result = _run(
        "--data",
        "synthetic",
        "--steps",
        "10",
        "--no-sleep",
        "--run-id",
        "table-run",
        "--no-registry",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Session table-run" in result.stdout
    assert "bars processed (steps)" in result.stdout
    assert "reports/table-run" in result.stdout
    assert not (tmp_path / "reports" / "experiments").exists()
    # ten minutes scaled to a year said a CAGR of 10^16 %
    line = next(row for row in result.stdout.splitlines() if "CAGR / Sharpe / Sortino" in row)
    assert "n/a (run too short: 0.0 of 30 days)" in line
    assert "%" not in line


# --- crash and resume --------------------------------------------------------------------------


def _bars_in_journal(path: Path, run_id: str) -> int:
    return journaled(path, run_id, "bar")


def test_kill_9_mid_run_then_resume_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    # Arrange: the same run, once uninterrupted and once killed with SIGKILL part-way.
    common = [
        "--data",
        "synthetic",
        "--seed",
        "3",
        "--steps",
        "20000",
        "--no-sleep",
        "--no-registry",
        "--log-level",
        "WARNING",
    ]
    reference = _summary(
        _run(*common, "--run-id", "whole", "--journal", "ref.sqlite", "--json", cwd=tmp_path)
    )
    journal = tmp_path / "crash.sqlite"
    process = subprocess.Popen(
        _cli(
            *common,
            "--run-id",
            "crash",
            "--journal",
            str(journal),
            cwd=tmp_path,
        ),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _bars_in_journal(journal, "crash") < 3000 and time.monotonic() < deadline:
        time.sleep(0.02)
    # Act
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_at = _bars_in_journal(journal, "crash")
    resumed = _summary(
        _run(
            "--resume",
            "crash",
            "--journal",
            str(journal),
            "--json",
            "--no-registry",
            "--log-level",
            "WARNING",
            cwd=tmp_path,
        )
    )
    # Assert
    assert process.returncode == -signal.SIGKILL
    assert 3000 <= killed_at < 20000
    assert resumed["ledger"] == reference["ledger"]
    assert resumed["pipeline_summary"] == reference["pipeline_summary"]
    for key in (
        "steps",
        "total_orders_generated",
        "orders_executed",
        "orders_blocked_risk",
        "target_changes",
        "equity",
        "fees",
        "realized_pnl",
        "current_position",
    ):
        assert resumed["metrics"][key] == reference["metrics"][key], key
    trades = [(tmp_path / "reports" / run / "trades.csv").read_text() for run in ("whole", "crash")]
    assert trades[0].replace("whole", "") == trades[1].replace("crash", "")


def test_a_run_still_going_on_cannot_be_resumed_and_can_once_it_is_killed(tmp_path: Path) -> None:
    # Arrange: a session that trades a bar a second, in another process
    journal = tmp_path / "j.sqlite"
    common = ("--journal", str(journal), "--no-registry", "--log-level", "WARNING")
    process = subprocess.Popen(
        _cli(
            "--data", "synthetic", "--poll-interval", "1", "--run-id", "busy", *common, cwd=tmp_path
        ),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _bars_in_journal(journal, "busy") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

        # Act: resume it while it runs (it used to be resumed: two processes wrote its bars)
        refused = _run("--resume", "busy", "--steps", "3", "--no-sleep", *common, cwd=tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    killed_at = _bars_in_journal(journal, "busy")
    resumed = _run("--resume", "busy", "--steps", "3", "--no-sleep", *common, cwd=tmp_path)

    # Assert: refused while it ran; once killed (the system drops its claim), resumed
    assert refused.returncode == 2
    assert (
        f"run busy is being run by another process on the journal {journal}; stop it (Ctrl+C or "
        "SIGTERM) before resuming it" in refused.stderr
    )
    assert resumed.returncode == 0, resumed.stderr
    db = sqlite3.connect(journal)
    times = [t for (t,) in db.execute("SELECT ts_event FROM events WHERE kind = 'bar'")]
    db.close()
    assert len(times) == killed_at + 3
    assert len(set(times)) == len(times)  # each bar once


def test_resume_of_an_unknown_run_lists_the_known_ones(tmp_path: Path) -> None:
    _summary(
        _run(
            "--data",
            "synthetic",
            "--steps",
            "60",
            "--no-sleep",
            "--run-id",
            "known",
            "--no-registry",
            "--json",
            cwd=tmp_path,
        )
    )
    result = _run("--resume", "other", cwd=tmp_path)
    assert result.returncode == 2
    assert "no run 'other' in the journal" in result.stderr
    assert "(runs: known); a run stopped before its warmup ended is not journaled: start it " in (
        result.stderr
    )


def test_resuming_a_run_stopped_before_its_warmup_says_why_it_is_not_there(
    tmp_path: Path,
) -> None:
    # Arrange: a session stopped in its warmup (Kraken unreachable) journals nothing
    closed = tmp_path / "closed.toml"
    closed.write_text('[exchange.kraken]\nbase_url = "http://127.0.0.1:9"\nmax_retries = 0\n')
    started = subprocess.run(
        [sys.executable, str(SCRIPT), "--config", str(closed), "--run-id", "early"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert started.returncode == 1, started.stderr
    # Act
    result = _run("--resume", "early", cwd=tmp_path)
    # Assert: the path is right; the run was simply never journaled
    assert result.returncode == 2
    assert (
        "no journal at journal/peak_trade.sqlite; name the one the run wrote with --journal "
        "(a run stopped before its warmup ended is not journaled: start it again)"
    ) in result.stderr


def test_resuming_a_finished_run_says_so_and_only_writes_its_report_again(tmp_path: Path) -> None:
    args = ("--data", "synthetic", "--steps", "60", "--no-sleep", "--no-registry", "--json")
    first = _summary(_run(*args, "--run-id", "done", cwd=tmp_path))
    report = tmp_path / "reports" / "done"
    (report / "summary.json").unlink()

    again = _run("--resume", "done", "--json", cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert (
        "run done had finished (processed the 60 requested bars): nothing is left to run, so its "
        "report is written again; give --steps N to trade N more bars" in again.stderr
    )
    resumed = json.loads(again.stdout)
    assert resumed["metrics"]["steps"] == first["metrics"]["steps"] == 60
    assert resumed["ledger"] == first["ledger"]
    assert (report / "summary.json").is_file()
    more = _run("--resume", "done", "--steps", "5", "--json", cwd=tmp_path)
    assert "had finished" not in more.stderr
    assert json.loads(more.stdout)["metrics"]["steps"] == 65


# --- signals --------------------------------------------------------------------------------


def _waiting_session(tmp_path: Path, run_id: str, *flags: str) -> subprocess.Popen[str]:
    """Start a session that has traded one bar and now waits an hour for the next poll."""
    journal = tmp_path / f"{run_id}.sqlite"
    process = subprocess.Popen(
        _cli(
            *("--data", "synthetic", "--poll-interval", "3600", "--run-id", run_id),
            *("--journal", str(journal), "--json", "--no-registry", *flags),
            cwd=tmp_path,
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while _bars_in_journal(journal, run_id) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # now inside the hour's wait for the next poll
    return process


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_run_forever_without_waiting_out_the_poll(
    tmp_path: Path, sig: signal.Signals
) -> None:
    process = _waiting_session(tmp_path, "slow", "--log-level", "WARNING")
    process.send_signal(sig)
    # A run that waited out the poll would still be waiting when this gives up.
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["stop_reason"] == f"received {sig.name}"
    assert summary["metrics"]["steps"] == 1


def test_a_second_sigterm_while_the_report_is_written_is_ignored(tmp_path: Path) -> None:
    # `timeout` and service managers send SIGTERM to the process and to its group: it can come
    # twice. The second used to find the default handler back and kill the process half-way.
    process = _waiting_session(tmp_path, "twice")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the run has stopped; the report is being written (matplotlib loads)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 0, stderr
    assert json.loads(stdout)["stop_reason"] == "received SIGTERM"
    assert "SIGTERM: already stopping" in stderr
    report = tmp_path / "reports" / "twice"
    assert sorted(p.name for p in report.iterdir()) == [
        "equity.csv",
        "equity.png",
        "round_trips.csv",
        "summary.json",
        "trades.csv",
    ]


def test_peak_trade_session_takes_the_same_flags(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "peak_trade.cli.main", "session", "--config", str(CONFIG)]
    done = subprocess.run(
        [
            *command,
            "--data",
            "synthetic",
            "--steps",
            "3000",
            "--no-sleep",
            "--json",
            "--no-registry",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    summary = _summary(done)
    assert summary["metrics"]["orders_executed"] > 0
    ledger = summary["ledger"]
    assert Decimal(ledger["cash"]) + Decimal(ledger["position"]) * Decimal(
        ledger["last_price"]
    ) == Decimal(ledger["equity"])
    for args, message in (
        (["--mode", "live"], "invalid choice: 'live'"),
        (["--strategy", "nope", "--dry-run"], "unknown strategy 'nope'"),
        (["--steps", "0"], "expected a whole number > 0, was 0"),
    ):
        result = subprocess.run(
            [*command, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
        )
        assert result.returncode == 2, args
        assert message in result.stderr


def test_resume_names_each_refused_flag_once(tmp_path: Path) -> None:
    flags = ["--resume", "r1", "--config", str(CONFIG), "--journal", str(tmp_path / "j.sqlite")]
    args = build_parser().parse_args([*flags, "--strategy", "macd", "-s", "rsi_reversion"])
    with pytest.raises(ConfigError, match=r"; --strategy cannot change them\. Leave it out, or"):
        run_session(args)
    assert not (tmp_path / "j.sqlite").exists()


def test_max_consecutive_errors_flag_reaches_the_session_config() -> None:
    args = build_parser().parse_args(["--data", "synthetic", "--max-consecutive-errors", "2"])
    assert session_config_from(args, PeakConfig.default()).max_consecutive_errors == 2
    default = build_parser().parse_args(["--data", "synthetic"])
    assert session_config_from(default, PeakConfig.default()).max_consecutive_errors == 5


# --- started with an interpreter that lacks the dependencies -------------------------------------


def test_script_started_by_a_bare_python_runs_in_the_project_venv(tmp_path: Path) -> None:
    # Arrange: a fresh venv with nothing installed stands for the system `python3`
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"

    # Act
    result = subprocess.run(
        [str(python), "-I", str(SCRIPT), "--list-strategies"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    # Assert: with the project's .venv it runs there; without one it says how to make it
    if (REPO / ".venv" / "bin" / "python").exists():
        assert result.returncode == 0, result.stderr
        assert "ma_crossover" in result.stdout
        assert "rsi_reversion" in result.stdout
    else:
        assert result.returncode == 1
        assert "Run `make venv`" in result.stderr


def test_cli_duration_with_no_sleep_takes_the_bars_without_waiting(tmp_path: Path) -> None:
    bars = write_replay(tmp_path / "bars.csv", list(SyntheticMarket(seed=2, bars=300)))

    result = _run(
        "--data",
        "replay",
        "--data-path",
        str(bars),
        "--duration",
        "0.5",
        "--no-sleep",
        "--json",
        cwd=tmp_path,
    )

    summary = _summary(result)
    assert summary["metrics"]["steps"] == 100  # all the bars after the warmup of 200
    assert summary["stop_reason"] == "the feed has no more bars"


def test_a_resumed_duration_run_gets_the_minutes_its_plan_has_left() -> None:
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    plan = JournalEvent(3, "r", "run_plan", start.isoformat(), start.isoformat(), {})

    def left(payload: dict[str, Any], minutes_later: float) -> float | None:
        event = replace(plan, payload=payload)
        return remaining_duration(event, start + timedelta(minutes=minutes_later))

    assert left({"duration_minutes": 60, "sleep_between": True}, 20) == 40.0
    assert left({"duration_minutes": 60}, 90) == 0.0  # over: nothing more to run
    assert left({"steps": 500}, 20) is None  # planned by steps, not by time
