"""Tell a service manager how the session is: systemd's notify protocol (`sd_notify`).

When systemd starts the session with `Type=notify` it sets $NOTIFY_SOCKET, a datagram socket
to send `KEY=VALUE` lines to: READY=1 once the warmup is done, WATCHDOG=1 at least twice per
`WatchdogSec` (systemd sets $WATCHDOG_USEC and restarts a session that goes quiet), STOPPING=1
when it ends, and STATUS= lines that `systemctl status` shows. Without $NOTIFY_SOCKET nothing
is sent. A failed send is logged once and never stops the trading loop.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

__all__ = ["ServiceNotifier"]

_LOG = logging.getLogger(__name__)


class ServiceNotifier:
    """Sends systemd's notify messages when $NOTIFY_SOCKET names a socket; else does nothing."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        # an abstract socket is written with a leading "@"; its address starts with a NUL
        self._address = "\0" + path[1:] if path.startswith("@") else path
        watchdog = env.get("WATCHDOG_USEC", "")
        usec = int(watchdog) if watchdog.isdigit() else 0
        self._every = usec / 2e6 if usec else None  # ping at twice the rate systemd asks
        self._last = float("-inf")
        self._failed = False
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def active(self) -> bool:
        """Return whether a service manager listens."""
        return self._socket is not None

    def ready(self, status: str) -> None:
        """Say the session is up, and what it does."""
        self._send(f"READY=1\nSTATUS={status}")

    def heartbeat(self) -> None:
        """Ping the watchdog, no more often than half its interval asks."""
        if self._every is None:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._send("WATCHDOG=1")

    def stopping(self, reason: str) -> None:
        """Say the session is ending, and why."""
        self._send(f"STOPPING=1\nSTATUS=stopping: {reason}")
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _send(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as error:
            if not self._failed:  # once: a dead socket must not fill the log
                _LOG.warning("cannot notify the service manager: %s", error.strerror or error)
                self._failed = True
