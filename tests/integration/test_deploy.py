"""The deploy/ examples run as written: the systemd unit's, the Dockerfile's and the compose
file's command line (one and the same) starts a session that tells systemd it is ready, pings
its watchdog, stops on SIGTERM saying so, and on its next start resumes the same run."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from peak_trade.core.types import Timeframe
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.journal.store import Journal
from peak_trade.testing.cli import run_peak, spawn_peak
from peak_trade.testing.kraken_emulator import KrakenEmulator

DEPLOY = Path(__file__).parents[2] / "deploy"


def _unit_command(name: str = "peak-trade-session.service") -> list[str]:
    line = next(
        line for line in (DEPLOY / name).read_text().splitlines() if line.startswith("ExecStart=")
    )
    return shlex.split(line.removeprefix("ExecStart="))


def _json_lines(path: Path, prefix: str) -> list[list[str]]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [json.loads(line.removeprefix(prefix)) for line in lines if line.startswith(prefix)]


def test_the_files_run_one_session_command_line_and_one_dashboard_command_line() -> None:
    unit = _unit_command()
    assert unit[0] == "/opt/peak-trade/.venv/bin/peak-trade"
    assert _json_lines(DEPLOY / "Dockerfile", "CMD") == [["peak-trade", *unit[1:]]]
    session, dashboard = _json_lines(DEPLOY / "compose.yaml", "command:")
    assert session == ["peak-trade", *unit[1:]]
    assert "--resume-or-start" in unit
    assert dashboard[:2] == ["peak-trade", "dashboard"]
    assert _unit_command("peak-trade-dashboard.service")[1] == "dashboard"


def test_the_dashboard_command_lines_serve_the_journal(tmp_path: Path) -> None:
    # the unit's and compose's lines, on a free port: the address they name may be taken here
    assert run_peak("init", "home", cwd=tmp_path).returncode == 0
    for line in (
        _unit_command("peak-trade-dashboard.service")[1:],
        _json_lines(DEPLOY / "compose.yaml", "command:")[1][1:],
    ):
        args = [*line[: line.index("--port")], "--port", "0"]
        home = tmp_path / "home"
        process = spawn_peak(*args, cwd=home, env={"PEAK_TRADE_HOME": str(home)})
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        deadline, answer = time.monotonic() + 30, None
        while answer is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "healthz", timeout=1) as reply:  # noqa: S310
                    answer = json.loads(reply.read())
            except OSError:
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        assert answer is not None
        assert answer["status"] == "ok"
        assert process.returncode == 0


@pytest.fixture
def kraken() -> Iterator[KrakenEmulator]:
    """Kraken on the wall clock: 600 closed 1m candles up to now, and more as time goes."""
    minute = Timeframe("1m")
    start = minute.floor(datetime.now(UTC)) - timedelta(minutes=600)
    bars = list(SyntheticMarket(seed=3, bars=720, start=start))
    with KrakenEmulator(bars, minute, lambda: datetime.now(UTC)) as running:
        yield running


def _messages(listener: socket.socket, until: str, timeout: float = 60) -> list[str]:
    """Read notify datagrams until one holds `until`; return them all."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listener.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            got.append(listener.recv(4096).decode())
        except TimeoutError:
            break
        if until in got[-1]:
            return got
    raise AssertionError(f"no {until!r} from the session; got {got}")


def test_the_unit_command_notifies_systemd_and_a_restart_resumes_the_run(
    tmp_path: Path, kraken: KrakenEmulator
) -> None:
    # Arrange: a home made by init, its Kraken the emulator; a notify socket as systemd's
    assert run_peak("init", "home", cwd=tmp_path).returncode == 0
    home = tmp_path / "home"
    config = home / "config.toml"
    config.write_text(config.read_text().replace("https://api.kraken.com", kraken.base_url, 1))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    env = {
        "PEAK_TRADE_HOME": str(home),
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "1000000",
    }

    def start() -> tuple[subprocess.Popen[str], list[str]]:
        process = spawn_peak(*_unit_command()[1:], cwd=home, env=env)
        return process, _messages(listener, "WATCHDOG=1")

    # Act: start it, stop it as systemd does, start it again, stop it again
    first, told = start()
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    stopped = _messages(listener, "STOPPING=1")
    second, told_again = start()
    second.send_signal(signal.SIGTERM)
    _, stderr = second.communicate(timeout=30)
    listener.close()

    # Assert
    assert first.returncode == second.returncode == 0, stderr
    assert told[0] == "READY=1\nSTATUS=btc-shadow: shadow on BTC/EUR"
    assert stopped[-1] == "STOPPING=1\nSTATUS=stopping: received SIGTERM"
    assert told_again[0].startswith("READY=1")
    with Journal(home / "journal" / "peak_trade.sqlite", read_only=True) as journal:
        assert journal.run_ids() == ["btc-shadow"]
        assert journal.count("btc-shadow", "run_resumed") == 1
        assert journal.count("btc-shadow", "run_stopped") == 2
