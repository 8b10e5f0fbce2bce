"""Operator controls: halt, reduce, activate and stop reach a running session within a poll,
from the terminal or the dashboard (only with its token), are journaled with their source,
and the trading state they set survives kill -9 and a resume."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from peak_trade.journal.store import Journal
from peak_trade.testing.browser import headless_chromium, page_wait
from peak_trade.testing.cli import run_peak, spawn_peak, wait_for_bars

TOKEN = "operator-secret-token-1234"  # noqa: S105 (a test's own)
SESSION = ("session", "--data", "synthetic", "--poll-interval", "0.3", "--steps", "100000")


def _start(folder: Path, run_id: str) -> subprocess.Popen[str]:
    process = spawn_peak(*SESSION, "--run-id", run_id, cwd=folder)
    wait_for_bars(folder / "journal" / "peak_trade.sqlite", run_id, 2)
    return process


def _status(folder: Path, run_id: str) -> dict[str, Any]:
    done = run_peak("status", run_id, "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    status: dict[str, Any] = json.loads(done.stdout)["runs"][0]
    return status


def _wait(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_terminal_halt_holds_through_kill_9_and_a_resume(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    process = _start(tmp_path, "live")

    sent = run_peak("control", "live", "halt", cwd=tmp_path)
    _wait(lambda: _status(tmp_path, "live")["trading_state"] == "halted")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    crashed = _status(tmp_path, "live")
    refused = run_peak("control", "live", "activate", cwd=tmp_path)
    resumed = run_peak("session", "--resume", "live", "--steps", "3", "--no-sleep", cwd=tmp_path)

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "sent halt to run live; it applies it before its next poll"
    assert (crashed["state"], crashed["trading_state"]) == ("crashed", "halted")
    assert refused.returncode == 2
    assert "run live is crashed, not running" in refused.stderr
    assert resumed.returncode == 0, resumed.stderr
    assert _status(tmp_path, "live")["trading_state"] == "halted"
    with Journal(tmp_path / "journal" / "peak_trade.sqlite", read_only=True) as journal:
        (operator,) = [e.payload for e in journal.events("live", "operator")]
        changes = [e.payload for e in journal.events("live", "trading_state")]
    assert operator["command"] == "halt"
    assert operator["applied"] is True
    assert operator["source"].startswith("terminal, user ")
    assert [(c["from"], c["to"]) for c in changes] == [("active", "halted")]
    assert changes[0]["reason"] == f"operator: halt ({operator['source']})"


def test_a_terminal_stop_ends_the_run_in_order(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    process = _start(tmp_path, "live")

    assert run_peak("control", "live", "stop", cwd=tmp_path).returncode == 0
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "operator: stop (terminal, user " in stdout
    assert _status(tmp_path, "live")["state"] == "finished"


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """A running session and a dashboard with operator controls on."""
    (tmp_path / "config.toml").write_text("")
    session = _start(tmp_path, "live")
    server = spawn_peak(
        "dashboard", "--port", "0", cwd=tmp_path, env={"PEAK_TRADE_DASHBOARD_TOKEN": TOKEN}
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    assert server.stdout.readline().strip() == "operator controls on ($PEAK_TRADE_DASHBOARD_TOKEN)"
    _wait(lambda: _answer(url + "healthz")[0] == 200)
    yield url, tmp_path, session
    for child in (session, server):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
        assert TOKEN not in (stderr or "")


def _answer(
    url: str, body: dict[str, str] | None = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, None


def test_the_dashboard_sends_a_command_only_with_its_token(
    dashboard: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, folder, _ = dashboard
    control = url + "api/runs/live/control"

    assert _answer(url + "api/controls")[1]["enabled"] is True
    assert _answer(control, {"command": "halt"})[0] == 401
    assert _answer(control, {"command": "halt"}, "wrong")[0] == 401
    assert _answer(control, {"command": "jump"}, TOKEN)[0] == 422
    assert _answer(url + "api/runs/nope/control", {"command": "halt"}, TOKEN)[0] == 404
    status, sent = _answer(control, {"command": "reduce"}, TOKEN)

    assert (status, sent) == (202, {"sent": "reduce", "run_id": "live"})
    _wait(lambda: _status(folder, "live")["trading_state"] == "reducing")
    with Journal(folder / "journal" / "peak_trade.sqlite", read_only=True) as journal:
        (operator,) = [e.payload for e in journal.events("live", "operator")]
    assert operator["source"] == "dashboard, 127.0.0.1"


def test_controls_are_off_without_a_token(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    server = spawn_peak(
        "dashboard", "--port", "0", cwd=tmp_path, unset=("PEAK_TRADE_DASHBOARD_TOKEN",)
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    _wait(lambda: _answer(url + "healthz")[0] == 200)
    off = _answer(url + "api/controls")[1]
    refused = _answer(url + "api/runs/x/control", {"command": "halt"}, "anything")
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=30)
    assert off["enabled"] is False
    assert refused[0] == 403
    assert "PEAK_TRADE_DASHBOARD_TOKEN" in refused[1]["detail"]


def test_the_page_halts_a_running_session_with_the_token(
    dashboard: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, folder, session = dashboard
    browser = headless_chromium()
    try:
        browser.get(url + "?run=live")
        wait = page_wait(browser, 30)
        wait.until(lambda b: not b.find_element(By.ID, "controls").get_attribute("hidden"))
        browser.find_element(By.CSS_SELECTOR, '#controls button[data-command="halt"]').click()
        prompt = wait.until(lambda b: b.switch_to.alert)
        prompt.send_keys(TOKEN)
        prompt.accept()
        result = browser.find_element(By.ID, "control-result")
        wait.until(lambda b: result.text.startswith("sent halt"))
        row = '#runs tr[data-run="live"]'
        wait.until(lambda b: "halted" in b.find_element(By.CSS_SELECTOR, row).text)
    finally:
        browser.quit()
    assert _status(folder, "live")["trading_state"] == "halted"
    session.send_signal(signal.SIGTERM)
    summary, _ = session.communicate(timeout=30)
    # the summary says who halted it, and when
    assert re.search(r"trading state +│ +halted", summary)
    assert "hint: trading left ACTIVE at " in summary
    assert "(operator: halt (dashboard, 127.0.0.1))" in " ".join(summary.split())
