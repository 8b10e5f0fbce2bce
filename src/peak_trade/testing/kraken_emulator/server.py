"""The emulator's HTTP side on 127.0.0.1: Kraken's endpoints, scripted faults, and a control
endpoint to script faults while it runs.

    GET    /_emulator/faults   the queued faults, those used so far, and an outage's end
    POST   /_emulator/faults   {"faults": ["http_500:3", "outage:90"]} queues more
    DELETE /_emulator/faults   forgets the queued faults and ends an outage
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from peak_trade.core.types import Timeframe
from peak_trade.testing.kraken_emulator.faults import Fault, FaultPlan, parse_fault

__all__ = ["CONTROL_PATH", "EmulatedExchange", "serve"]

CONTROL_PATH = "/_emulator/faults"


class EmulatedExchange(Protocol):
    """What the HTTP side asks of the emulated exchange."""

    pair_id: str
    timeframe: Timeframe
    requests: list[str]

    def now(self) -> datetime:
        """Return the exchange's time."""
        ...

    def asset_pairs(self) -> dict[str, dict[str, Any]]:
        """Return the AssetPairs result."""
        ...

    def pair_of(self, name: str | None) -> str | None:
        """Return the pair id a request names, if served."""
        ...

    def ohlc(self, since: int | None, gap: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return the OHLC result."""
        ...

    def trades(self, since: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return the Trades result after `since` (seconds, or a nanosecond id)."""
        ...

    def depth(self, count: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return the Depth result."""
        ...

    def add_order(self, path: str, headers: dict[str, str], body: str) -> dict[str, Any]:
        """Judge an AddOrder and return the answer."""
        ...

    def take_fault(self, endpoint: str) -> Fault | None:
        """Return and remove the next fault for `endpoint`."""
        ...

    def in_outage(self) -> bool:
        """Return True while every request must fail."""
        ...

    def apply(self, plans: Iterable[FaultPlan]) -> None:
        """Queue faults and start outages."""
        ...

    def clear_faults(self) -> None:
        """Forget the faults."""
        ...

    def fault_status(self) -> dict[str, Any]:
        """Return the faults queued and used."""
        ...


def serve(exchange: EmulatedExchange, port: int) -> ThreadingHTTPServer:
    """Serve `exchange` on 127.0.0.1:`port` (0: a free one) in a daemon thread."""
    handler = type("Handler", (_Handler,), {"exchange": exchange})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Handler(BaseHTTPRequestHandler):
    exchange: EmulatedExchange
    protocol_version = "HTTP/1.1"
    # headers and body go out as two writes: without this, each answer on a kept-alive
    # connection waits for the client's delayed ACK (some 40 ms)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # quiet: tests read the recorded requests instead

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == CONTROL_PATH:
            self._send(self.exchange.fault_status())
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.exchange.requests.append(url.path)
        if self._fault(url.path.rsplit("/", 1)[-1]):
            return
        exchange = self.exchange
        if url.path == "/0/public/Time":
            now = exchange.now()
            time_result = {
                "unixtime": int(now.timestamp()),
                "rfc1123": now.strftime("%a, %d %b %y %H:%M:%S +0000"),
            }
            self._send({"error": [], "result": time_result})
        elif url.path == "/0/public/AssetPairs":
            self._send({"error": [], "result": exchange.asset_pairs()})
        elif url.path == "/0/public/OHLC":
            self._ohlc(query)
        elif url.path == "/0/public/Trades":
            since = int(query.get("since", "0"))
            pair = exchange.pair_of(query.get("pair")) or exchange.pair_id
            self._send({"error": [], "result": exchange.trades(since, pair)})
        elif url.path == "/0/public/Depth":
            count = int(query.get("count", "100"))
            pair = exchange.pair_of(query.get("pair")) or exchange.pair_id
            self._send({"error": [], "result": exchange.depth(min(count, 500), pair)})
        else:
            self._send({"error": ["EGeneral:Unknown method"]})

    def _ohlc(self, query: dict[str, str]) -> None:
        exchange = self.exchange
        pair = exchange.pair_of(query.get("pair"))
        if pair is None:
            self._send({"error": ["EQuery:Unknown asset pair"]})
        elif query.get("interval", "1") != str(exchange.timeframe.minutes):
            self._send({"error": ["EGeneral:Invalid arguments"]})
        else:
            since = int(query["since"]) if "since" in query else None
            fault = exchange.take_fault("OHLC-gap")
            result = exchange.ohlc(since, fault.gap_bars if fault else 0, pair)
            self._send({"error": [], "result": result})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        url = urlparse(self.path)
        if url.path == CONTROL_PATH:
            self._control(body)
            return
        self.exchange.requests.append(url.path)
        if self._fault(url.path.rsplit("/", 1)[-1]):
            return
        if url.path != "/0/private/AddOrder":
            self._send({"error": ["EGeneral:Unknown method"]})
            return
        headers = {name: self.headers.get(name, "") for name in ("API-Key", "API-Sign")}
        self._send(self.exchange.add_order(url.path, headers, body))

    def do_DELETE(self) -> None:
        if urlparse(self.path).path != CONTROL_PATH:
            self._send_raw(404, b"not found", "text/plain")
            return
        self.exchange.clear_faults()
        self._send(self.exchange.fault_status())

    def _control(self, body: str) -> None:
        """Queue the faults a control request names; 400 with the reason if one is wrong."""
        try:
            texts = json.loads(body or "{}").get("faults", [])
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError('expected {"faults": ["KIND[:ARGS]", ...]}')
            plans = [parse_fault(text) for text in texts]
        except (ValueError, AttributeError) as error:
            self._send_raw(400, json.dumps({"error": str(error)}).encode(), "application/json")
            return
        self.exchange.apply(plans)
        self._send(self.exchange.fault_status())

    def _fault(self, endpoint: str) -> bool:
        """Answer with a scripted fault instead, if one is due; return True if so."""
        if self.exchange.in_outage():
            self._send_raw(503, b"<html>503 Service Temporarily Unavailable</html>", "text/html")
            return True
        fault = self.exchange.take_fault(endpoint) if endpoint != "AddOrder" else None
        if fault is None:
            return False
        if fault.kind == "http_500":
            self._send_raw(500, b"<html>500 Internal Server Error</html>", "text/html")
        elif fault.kind == "timeout":
            time.sleep(3.0)
            self._send({"error": ["EService:Unavailable"]})
        elif fault.kind == "rate_limit":
            self._send({"error": ["EAPI:Rate limit exceeded"]})
        elif fault.kind == "service":
            self._send({"error": ["EService:Unavailable"]})
        elif fault.kind == "malformed":
            self._send_raw(200, b'{"error": [], "result": {', "application/json")
        return True

    def _send(self, payload: dict[str, Any]) -> None:
        self._send_raw(200, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout); nothing to answer
