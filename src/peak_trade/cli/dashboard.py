"""`peak-trade dashboard`: serve the dashboard over the journals until stopped."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from peak_trade.cli.arguments import DEFAULT_JOURNALS, add_journals
from peak_trade.core.errors import ConfigError
from peak_trade.core.home import in_home
from peak_trade.session.stop_signals import on_stop_signals

__all__ = ["DESCRIPTION", "TOKEN_VAR", "add_dashboard_arguments", "run_dashboard"]

TOKEN_VAR = "PEAK_TRADE_DASHBOARD_TOKEN"  # noqa: S105 (the variable's name, not a token)

DESCRIPTION = (
    "Serve a web page of the runs in the journals (price with entries, exits and denials, "
    "equity, drawdown, fills, trading state, config; it updates itself while runs go on), a "
    "JSON API under /api/ (OpenAPI at /docs), Prometheus metrics at /metrics and /healthz. "
    "Reads the journals only. The first line of output is the page's address. With "
    "$PEAK_TRADE_DASHBOARD_TOKEN set, the page and POST /api/runs/RUN/control also halt, "
    "reduce, activate or stop a running session, for requests that bear the token."
)


def add_dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the dashboard flags."""
    a = parser.add_argument
    add_journals(parser)
    a("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    a("--port", type=_port, default=8000, help="port (default: 8000; 0 picks a free one)")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65_535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, was {text!r}")
    return int(text)


def run_dashboard(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print the address first."""
    import uvicorn

    from peak_trade.dashboard.app import create_app
    from peak_trade.dashboard.reader import JournalSet

    # the home's two journals even before they exist: a run started later shows up
    journals = args.journal or [in_home(name) for name in DEFAULT_JOURNALS]
    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error} (another "
            "--port, or 0 for a free one)"
        ) from None
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"http://{shown}:{port}/", flush=True)
    if os.environ.get(TOKEN_VAR):
        print(f"operator controls on (${TOKEN_VAR})", flush=True)
    token = os.environ.get(TOKEN_VAR) or None  # never printed or logged
    app = create_app(JournalSet(journals), token)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = _server_class()(config)
    server.run(sockets=[listener])
    sys.stdout.flush()
    return 0


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopped by SIGINT or SIGTERM with exit 0 (uvicorn raises the
        signal again once it has shut down, which ends the process by the signal)."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            with on_stop_signals(lambda sig: self.handle_exit(sig, None)):
                yield

    return Server
