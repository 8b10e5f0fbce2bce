"""`peak-trade status`: every run's state read from the journals while sessions write them:
running while a process holds it, crashed after kill -9, finished once it stopped."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from peak_trade.testing.cli import run_peak, spawn_peak, wait_for_bars


def _status(tmp_path: Path, *args: str) -> dict[str, Any]:
    done = run_peak("status", *args, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs: dict[str, Any] = {run["run_id"]: run for run in json.loads(done.stdout)["runs"]}
    return runs


def test_a_run_is_running_while_held_crashed_after_kill_9_and_finished_once_stopped(
    tmp_path: Path,
) -> None:
    # Arrange: a backtest that finished, and a session that waits 0.2 s between bars
    (tmp_path / "config.toml").write_text("")
    backtest = run_peak(
        "backtest",
        "--data",
        "synthetic",
        "--bars",
        "600",
        "--run-id",
        "bt",
        "--json",
        cwd=tmp_path,
    )
    assert backtest.returncode == 0, backtest.stderr
    session = ("session", "--data", "synthetic", "--poll-interval", "0.2", "--steps", "100000")
    process = spawn_peak(*session, "--run-id", "live", cwd=tmp_path, quiet=True)
    wait_for_bars(tmp_path / "journal" / "peak_trade.sqlite", "live", 3)

    # Act: ask while it runs, then after kill -9, then after a resume that stops it
    running = _status(tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    crashed = _status(tmp_path)["live"]
    resumed = run_peak("session", "--resume", "live", "--steps", "2", "--no-sleep", cwd=tmp_path)
    finished = _status(tmp_path, "live")

    # Assert
    live, done = running["live"], running["bt"]
    assert (live["state"], live["mode"], live["data"]) == ("running", "shadow", "synthetic")
    assert live["bars"] >= 3
    assert live["seconds_since_close"] is not None
    assert live["position"] is not None
    assert done["state"] == "finished"
    assert done["bars"] == 600 - 200
    assert done["equity"] == json.loads(backtest.stdout)["ledger"]["equity"]
    assert done["stop_reason"] == "the feed has no more bars"
    assert crashed["state"] == "crashed"
    assert crashed["bars"] >= live["bars"]
    assert resumed.returncode == 0, resumed.stderr
    assert list(finished) == ["live"]
    assert finished["live"]["state"] == "finished"
    assert finished["live"]["seconds_since_close"] is None


def test_status_prints_a_table_and_refuses_what_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    nothing = run_peak("status", cwd=tmp_path)
    run_peak("backtest", "--data", "synthetic", "--bars", "400", "--run-id", "bt", cwd=tmp_path)
    table = run_peak("status", cwd=tmp_path)
    unknown = run_peak("status", "nope", cwd=tmp_path)
    missing = run_peak("status", "--journal", "other.sqlite", cwd=tmp_path)

    assert (nothing.returncode, nothing.stdout.strip()) == (
        0,
        "no runs in the home folder (no journal yet)",
    )
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "│ bt " in line)
    assert "finished" in row
    assert "BTC/EUR 1m" in row
    assert unknown.returncode == 2
    assert "no run 'nope' in journal/backtest.sqlite" in unknown.stderr
    assert missing.returncode == 2
    assert "no journal at other.sqlite" in missing.stderr


def test_kill_9_then_resume_or_start_continues_the_same_run(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    flags = ("session", "--data", "synthetic", "--poll-interval", "0.2", "--steps", "600")
    unattended = (*flags, "--run-id", "svc", "--resume-or-start")
    process = spawn_peak(*unattended, cwd=tmp_path, quiet=True)
    wait_for_bars(tmp_path / "journal" / "peak_trade.sqlite", "svc", 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    between = _status(tmp_path)["svc"]

    again = run_peak(*unattended, "--no-sleep", "--json", cwd=tmp_path)

    assert between["state"] == "crashed"
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["run_id"] == "svc"
    assert summary["metrics"]["steps"] == 600  # the 600 it was asked for, across both starts
    after = _status(tmp_path)
    assert list(after) == ["svc"]
    assert after["svc"]["state"] == "finished"
