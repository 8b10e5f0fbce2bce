"""Alerts: a session's start, stop and warnings, sent to a webhook and to Telegram.

What is alerted is what the session warns of in its log, worded once there: trading-state
changes (a drawdown, a stale feed, an operator), venue rejections, auth errors, feed problems
and failed steps, and beside them the start and the stop of the session. A logging handler
hands each WARNING or worse to a queue; a worker thread sends it, so the trading loop never
waits on a network. Each kind of alert (its text, amounts aside) goes out at most once per
`min_interval_seconds`; the next one says how many were held back. A failed send is logged
(without the address, which holds a secret) and counted. Addresses and tokens come from the
environment variables `[alerts]` names, and never reach a log line or an error message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from peak_trade.core.config_schema import AlertsSection
from peak_trade.core.errors import ConfigError

__all__ = ["AlertHandler", "Alerts", "Channel"]

_LOG = logging.getLogger(__name__)
_AMOUNTS = re.compile(r"[0-9][0-9.,:+TZ-]*")
_QUEUE = 1_000  # alerts waiting at most; more are dropped and counted


@dataclass(frozen=True, slots=True)
class Channel:
    """Where alerts go: a name for the log, an address (a secret) and how a text is put."""

    name: str
    url: str
    fields: tuple[str, ...]  # the JSON keys the text goes in
    extra: tuple[tuple[str, str], ...] = ()

    def body(self, text: str) -> bytes:
        """Return the JSON body that carries `text`."""
        return json.dumps(dict.fromkeys(self.fields, text) | dict(self.extra)).encode()


@dataclass
class Alerts:
    """Sends alerts from a queue in a worker thread, each kind rate-limited."""

    channels: tuple[Channel, ...]
    run: str
    min_interval: float = 60.0
    timeout: float = 5.0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    _queue: queue.Queue[str | None] = field(default_factory=lambda: queue.Queue(_QUEUE))
    _last: dict[str, tuple[float, int]] = field(default_factory=dict)  # kind: (sent at, held)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _worker: threading.Thread | None = None

    @classmethod
    def from_config(
        cls, section: AlertsSection, run: str, environ: Mapping[str, str] | None = None
    ) -> Alerts | None:
        """Return the alerts `[alerts]` asks for, or None when it names no channel; a
        ConfigError when a variable it names is not set."""
        env = os.environ if environ is None else environ
        channels: list[Channel] = []
        if section.webhook_url_env_var:
            url = _needed(env, section.webhook_url_env_var, "webhook_url_env_var")
            # Slack reads "text", Discord "content": one body serves both
            channels.append(Channel("webhook", url, ("text", "content")))
        if section.telegram_token_env_var or section.telegram_chat_id_env_var:
            token = _needed(env, section.telegram_token_env_var, "telegram_token_env_var")
            chat = _needed(env, section.telegram_chat_id_env_var, "telegram_chat_id_env_var")
            url = f"{section.telegram_api_url.rstrip('/')}/bot{token}/sendMessage"
            channels.append(Channel("telegram", url, ("text",), (("chat_id", chat),)))
        if not channels:
            return None
        return cls(tuple(channels), run, section.min_interval_seconds, section.timeout_seconds)

    def start(self) -> None:
        """Start the worker."""
        self._worker = threading.Thread(target=self._work, name="alerts", daemon=True)
        self._worker.start()

    def notify(self, text: str) -> None:
        """Queue an alert unless one of its kind went out too recently (never blocks)."""
        kind = _AMOUNTS.sub("#", text)
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(kind, (float("-inf"), 0))
            if now - last < self.min_interval:
                self._last[kind] = (last, held + 1)
                return
            self._last[kind] = (now, 0)
        more = f" (+{held} more like it held back)" if held else ""
        try:
            self._queue.put_nowait(f"Peak Trade {self.run}: {text}{more}")
        except queue.Full:
            self.dropped += 1

    def close(self, wait: float = 10.0) -> None:
        """Send what is queued (for at most `wait` seconds), then stop the worker."""
        if self._worker is None:
            return
        with contextlib.suppress(queue.Full):  # a queue that stays full: the worker is stuck
            self._queue.put(None, timeout=wait)
        self._worker.join(wait)
        if self.failed or self.dropped:
            _LOG.warning(
                "alerts: %d sent, %d failed, %d dropped (the queue was full)",
                self.sent,
                self.failed,
                self.dropped,
            )

    def _work(self) -> None:
        while (text := self._queue.get()) is not None:
            for channel in self.channels:
                self._send(channel, text)

    def _send(self, channel: Channel, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 (https://, or http:// on loopback only)
            channel.url, data=channel.body(text), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                self.sent += 1
        except urllib.error.HTTPError as error:
            self._failed(channel, f"HTTP {error.code}")
        except (OSError, ValueError) as error:  # refused, timed out, unreachable
            reason = getattr(error, "reason", None)
            self._failed(channel, type(reason or error).__name__)

    def _failed(self, channel: Channel, why: str) -> None:
        self.failed += 1
        # the address holds the webhook's secret or the bot's token: it is never written
        _LOG.getChild("send").warning("alert to %s failed: %s", channel.name, why)


class AlertHandler(logging.Handler):
    """Hands a session's warnings to `Alerts` (not the alerts' own, which would loop)."""

    def __init__(self, alerts: Alerts) -> None:
        super().__init__(logging.WARNING)
        self.alerts = alerts

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(__name__):
            return
        self.alerts.notify(f"{record.levelname.lower()}: {record.getMessage()}")


def _needed(env: Mapping[str, str], name: str | None, key: str) -> str:
    if not name:
        raise ConfigError(f"[alerts] {key} is not set: Telegram needs a token and a chat id")
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"[alerts] {key} names ${name}, which is not set")
    return value
