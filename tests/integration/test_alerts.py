"""Alerts to a webhook and to Telegram, received on 127.0.0.1: a session's start, its
warnings and its stop; rate-limited; failures logged and counted, never a secret."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from peak_trade.core.config_schema import AlertsSection
from peak_trade.session.alerts import Alerts
from peak_trade.testing.cli import run_peak

HOOK_SECRET, BOT_TOKEN = "T0/B0/hook-secret-xyz", "123456:bot-token-abc"


class Receiver:
    """A loopback HTTP server that records every POST (path, JSON body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        self.hold: threading.Event | None = None  # set: every request waits for it
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                length = int(self.headers.get("Content-Length", "0"))
                receiver.posts.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self, prefix: str) -> list[str]:
        return [str(body["text"]) for path, body in self.posts if path.startswith(prefix)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def _config(folder: Path, receiver: Receiver) -> dict[str, str]:
    (folder / "config.toml").write_text(
        "[live_risk]\nmax_drawdown_pct = 1.0\n"
        "[alerts]\n"
        'webhook_url_env_var = "PT_HOOK"\n'
        'telegram_token_env_var = "PT_BOT"\n'
        'telegram_chat_id_env_var = "PT_CHAT"\n'
        f'telegram_api_url = "{receiver.url}"\n'
    )
    return {"PT_HOOK": f"{receiver.url}/hook/{HOOK_SECRET}", "PT_BOT": BOT_TOKEN, "PT_CHAT": "42"}


SESSION = ("session", "--data", "synthetic", "--steps", "3000", "--no-sleep", "--no-registry")


def test_a_session_alerts_its_start_its_warnings_and_its_stop(
    tmp_path: Path, receiver: Receiver
) -> None:
    env = _config(tmp_path, receiver)
    done = run_peak(*SESSION, "--run-id", "a", cwd=tmp_path, env=env)

    assert done.returncode == 0, done.stderr
    hook = receiver.texts(f"/hook/{HOOK_SECRET}")
    assert hook[0] == "Peak Trade a: started: a: shadow on BTC/EUR"
    assert any("trading state active → reducing" in text for text in hook)  # the 1 % drawdown
    assert hook[-1].startswith("Peak Trade a: stopped: processed the 3000 requested bars; equity")
    bodies = [body for path, body in receiver.posts if path.startswith("/hook/")]
    assert all(body["content"] == body["text"] for body in bodies)  # Discord reads "content"
    telegram = [body for path, body in receiver.posts if path == f"/bot{BOT_TOKEN}/sendMessage"]
    assert [body["text"] for body in telegram] == hook
    assert {body["chat_id"] for body in telegram} == {"42"}
    assert HOOK_SECRET not in done.stderr + done.stdout
    assert BOT_TOKEN not in done.stderr + done.stdout


def test_a_failing_channel_is_logged_and_counted_and_the_session_goes_on(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.status = 500
    env = _config(tmp_path, receiver)
    done = run_peak(*SESSION, "--run-id", "b", cwd=tmp_path, env=env)

    assert done.returncode == 0, done.stderr
    assert "alert to webhook failed: HTTP 500" in done.stderr
    assert "alert to telegram failed: HTTP 500" in done.stderr
    failed = len(receiver.posts)
    assert f"alerts: 0 sent, {failed} failed, 0 dropped" in done.stderr
    assert HOOK_SECRET not in done.stderr
    assert BOT_TOKEN not in done.stderr


def test_a_variable_alerts_name_but_not_set_is_refused_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[alerts]\nwebhook_url_env_var = "PT_UNSET"\n')
    env = {k: v for k, v in os.environ.items() if k != "PT_UNSET"}
    done = run_peak(*SESSION, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "[alerts] webhook_url_env_var names $PT_UNSET, which is not set" in done.stderr
    assert not (tmp_path / "journal").exists()


def test_each_kind_of_alert_goes_out_once_an_interval_and_says_what_it_held(
    receiver: Receiver,
) -> None:
    section = AlertsSection(webhook_url_env_var="HOOK", min_interval_seconds=0.3)
    alerts = Alerts.from_config(section, "r", {"HOOK": f"{receiver.url}/hook"})
    assert alerts is not None
    alerts.start()
    for value in range(5):  # one kind: only the amount differs
        alerts.notify(f"warning: order refused at 10{value}.5 EUR")
    alerts.notify("warning: feed gap")
    time.sleep(0.35)
    alerts.notify("warning: order refused at 99.5 EUR")
    alerts.close()

    assert receiver.texts("/hook") == [
        "Peak Trade r: warning: order refused at 100.5 EUR",
        "Peak Trade r: warning: feed gap",
        "Peak Trade r: warning: order refused at 99.5 EUR (+4 more like it held back)",
    ]
    assert (alerts.sent, alerts.failed, alerts.dropped) == (3, 0, 0)


def test_a_receiver_that_hangs_does_not_hold_the_session_up(tmp_path: Path) -> None:
    # every request waits until the test lets it go: the session must finish all the same
    released = threading.Event()
    receiver = Receiver()
    receiver.hold = released
    try:
        env = _config(tmp_path, receiver)
        config = tmp_path / "config.toml"
        config.write_text(config.read_text() + "timeout_seconds = 1.0\n")
        done = run_peak(*SESSION, "--run-id", "h", cwd=tmp_path, env=env)
        answered = len(receiver.posts)
    finally:
        released.set()
        receiver.server.shutdown()
        receiver.server.server_close()

    assert done.returncode == 0, done.stderr
    assert "processed the 3000 requested bars" in done.stdout
    assert answered == 0  # nothing was answered while the session traded its 3,000 bars
    assert "alert to webhook failed: TimeoutError" in done.stderr
