"""A loopback Kraken: public market data and AddOrder on 127.0.0.1, for tests and dry runs.

It serves /0/public/Time, AssetPairs, OHLC (Kraken's shape: rows and `last`, at most 720
rows, the still-open candle last), Depth, and /0/private/AddOrder, which checks API-Key and
API-Sign exactly as Kraken does, refuses stale nonces and records every request. Candles come
from prepared bars; the emulator's clock decides which are closed. Faults can be scripted per
endpoint: HTTP 500, a timeout, rate limiting, EService errors, malformed JSON, or missing rows.

    python -m peak_trade.testing.kraken_emulator --port 0 --api-key KEY --api-secret SECRET

prints its base URL as the first line of stdout and serves until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from peak_trade.core.types import Bar, Timeframe
from peak_trade.kraken.signing import kraken_signature

__all__ = ["AddOrderCall", "Fault", "KrakenEmulator", "main"]

PAIRS: dict[str, dict[str, Any]] = {
    "XXBTZEUR": {
        "altname": "XBTEUR",
        "wsname": "XBT/EUR",
        "aclass_base": "currency",
        "base": "XXBT",
        "aclass_quote": "currency",
        "quote": "ZEUR",
        "lot": "unit",
        "pair_decimals": 1,
        "cost_decimals": 5,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "ordermin": "0.00005",
        "costmin": "0.5",
        "tick_size": "0.1",
        "status": "online",
    },
    "XETHZEUR": {
        "altname": "ETHEUR",
        "wsname": "ETH/EUR",
        "aclass_base": "currency",
        "base": "XETH",
        "aclass_quote": "currency",
        "quote": "ZEUR",
        "lot": "unit",
        "pair_decimals": 2,
        "cost_decimals": 5,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "ordermin": "0.002",
        "costmin": "0.5",
        "tick_size": "0.01",
        "status": "online",
    },
}
MAX_ROWS = 720


@dataclass(frozen=True, slots=True)
class Fault:
    """A scripted misbehaviour for the next request to `endpoint` (e.g. "OHLC")."""

    endpoint: str
    kind: str  # http_500, timeout, rate_limit, service, malformed, gap, insufficient_funds
    gap_bars: int = 0


@dataclass(frozen=True, slots=True)
class AddOrderCall:
    """What one AddOrder request carried, and how the emulator judged it."""

    fields: dict[str, str]
    key_ok: bool
    signature_ok: bool
    nonce: int
    validate: bool
    error: str | None


@dataclass
class KrakenEmulator:
    """The emulator's state; `start()` serves it on 127.0.0.1 in a background thread."""

    bars: Sequence[Bar]
    timeframe: Timeframe
    now: Callable[[], datetime]
    api_key: str = "test-key"
    api_secret: str = base64.b64encode(b"peak-trade-emulator-secret").decode()
    pair_id: str = "XXBTZEUR"
    port: int = 0
    faults: deque[Fault] = field(default_factory=deque)
    add_orders: list[AddOrderCall] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _last_nonce: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT of the running server."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> KrakenEmulator:
        """Serve in a daemon thread; return self."""
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> KrakenEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *faults: Fault) -> None:
        """Queue faults; each is used by the next request to its endpoint."""
        with self._lock:
            self.faults.extend(faults)

    def take_fault(self, endpoint: str) -> Fault | None:
        """Return and remove the first queued fault for `endpoint`."""
        with self._lock:
            for fault in self.faults:
                if fault.endpoint == endpoint:
                    self.faults.remove(fault)
                    return fault
        return None

    # --- market ------------------------------------------------------------------------------

    def closed_bars(self) -> list[Bar]:
        """Return the bars closed at the emulator's current time."""
        now = self.now()
        return [bar for bar in self.bars if bar.time + self.timeframe.delta <= now]

    def ohlc(self, since: int | None, gap: int) -> dict[str, Any]:
        """Return the OHLC result at the current time."""
        closed = self.closed_bars()
        if since is not None:
            closed = [bar for bar in closed if bar.time.timestamp() > since]
        forming_time = self.timeframe.floor(self.now())
        previous = closed[-1].close if closed else (self.bars[0].open if self.bars else 1.0)
        rows = [_row(bar) for bar in closed][-(MAX_ROWS - 1) :]
        if gap and len(rows) > gap + 2:
            middle = len(rows) // 2
            del rows[middle : middle + gap]
        last = int(closed[-1].time.timestamp()) if closed else (since or 0)
        forming = [int(forming_time.timestamp()), *(f"{previous:.10f}",) * 5, "0.00000000", 0]
        return {self.pair_id: [*rows, forming], "last": last}

    def depth(self, count: int) -> dict[str, Any]:
        """Return a synthetic order book around the last close."""
        closed = self.closed_bars()
        mid = closed[-1].close if closed else 50_000.0
        step = mid * 0.0002
        asks = [[f"{mid + step * (i + 1):.1f}", f"{0.05 * (i + 1):.8f}", 0] for i in range(count)]
        bids = [[f"{mid - step * (i + 1):.1f}", f"{0.05 * (i + 1):.8f}", 0] for i in range(count)]
        return {self.pair_id: {"asks": asks, "bids": bids}}

    def add_order(self, path: str, headers: dict[str, str], body: str) -> dict[str, Any]:
        """Judge an AddOrder exactly as Kraken would and record it."""
        fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        nonce_text = fields.get("nonce", "")
        key_ok = headers.get("API-Key") == self.api_key
        expected = kraken_signature(path, nonce_text, body, self.api_secret)
        signature_ok = key_ok and headers.get("API-Sign") == expected
        nonce = int(nonce_text) if nonce_text.isdigit() else -1
        error = self._order_error(fields, key_ok, signature_ok, nonce)
        with self._lock:
            if error is None or error not in ("EAPI:Invalid key", "EAPI:Invalid signature"):
                self._last_nonce = max(self._last_nonce, nonce)
            self.add_orders.append(
                AddOrderCall(
                    fields, key_ok, signature_ok, nonce, fields.get("validate") == "true", error
                )
            )
        if error is not None:
            return {"error": [error]}
        descr = {
            "order": f"{fields['type']} {float(fields['volume']):.8f} "
            f"{PAIRS[self.pair_id]['altname']} @ {fields['ordertype']}"
            + (f" {fields['price']}" if "price" in fields else "")
        }
        if fields.get("validate") == "true":
            return {"error": [], "result": {"descr": descr}}
        return {"error": [], "result": {"descr": descr, "txid": ["OEMUL-ATED00-PLACED"]}}

    def _order_error(
        self, fields: dict[str, str], key_ok: bool, signature_ok: bool, nonce: int
    ) -> str | None:
        if not key_ok:
            return "EAPI:Invalid key"
        if not signature_ok:
            return "EAPI:Invalid signature"
        if nonce <= self._last_nonce:
            return "EAPI:Invalid nonce"
        if self.take_fault("AddOrder") is not None:
            return "EOrder:Insufficient funds"
        if fields.get("pair") not in PAIRS or fields.get("type") not in ("buy", "sell"):
            return "EGeneral:Invalid arguments"
        if fields.get("ordertype") not in ("market", "limit"):
            return "EGeneral:Invalid arguments:ordertype"
        if fields["ordertype"] == "limit" and "price" not in fields:
            return "EGeneral:Invalid arguments:price"
        try:
            volume = float(fields.get("volume", ""))
        except ValueError:
            return "EGeneral:Invalid arguments:volume"
        if volume < float(PAIRS[fields["pair"]]["ordermin"]):
            return "EOrder:Order minimum not met"
        return None


def _row(bar: Bar) -> list[Any]:
    vwap = (bar.high + bar.low + bar.close) / 3
    return [
        int(bar.time.timestamp()),
        repr(bar.open),
        repr(bar.high),
        repr(bar.low),
        repr(bar.close),
        f"{vwap:.10f}",
        repr(bar.volume),
        1,
    ]


class _Handler(BaseHTTPRequestHandler):
    emulator: KrakenEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # quiet: tests read the recorded requests instead

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint = url.path.rsplit("/", 1)[-1]
        self.emulator.requests.append(url.path)
        if self._fault(endpoint):
            return
        emulator = self.emulator
        if url.path == "/0/public/Time":
            now = emulator.now()
            self._send(
                {
                    "error": [],
                    "result": {
                        "unixtime": int(now.timestamp()),
                        "rfc1123": now.strftime("%a, %d %b %y %H:%M:%S +0000"),
                    },
                }
            )
        elif url.path == "/0/public/AssetPairs":
            self._send({"error": [], "result": PAIRS})
        elif url.path == "/0/public/OHLC":
            self._ohlc(query)
        elif url.path == "/0/public/Depth":
            count = int(query.get("count", "100"))
            self._send({"error": [], "result": emulator.depth(min(count, 500))})
        else:
            self._send({"error": ["EGeneral:Unknown method"]})

    def _ohlc(self, query: dict[str, str]) -> None:
        emulator = self.emulator
        if query.get("pair") not in (emulator.pair_id, PAIRS[emulator.pair_id]["altname"]):
            self._send({"error": ["EQuery:Unknown asset pair"]})
        elif query.get("interval", "1") != str(emulator.timeframe.minutes):
            self._send({"error": ["EGeneral:Invalid arguments"]})
        else:
            since = int(query["since"]) if "since" in query else None
            fault = emulator.take_fault("OHLC-gap")
            self._send(
                {"error": [], "result": emulator.ohlc(since, fault.gap_bars if fault else 0)}
            )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        url = urlparse(self.path)
        self.emulator.requests.append(url.path)
        if self._fault(url.path.rsplit("/", 1)[-1]):
            return
        if url.path != "/0/private/AddOrder":
            self._send({"error": ["EGeneral:Unknown method"]})
            return
        headers = {name: self.headers.get(name, "") for name in ("API-Key", "API-Sign")}
        self._send(self.emulator.add_order(url.path, headers, body))

    def _fault(self, endpoint: str) -> bool:
        fault = self.emulator.take_fault(endpoint) if endpoint != "AddOrder" else None
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


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a synthetic (or recorded) market on wall-clock time until interrupted."""
    from peak_trade.data.replay import load_replay
    from peak_trade.data.synthetic import SyntheticMarket

    parser = argparse.ArgumentParser(
        prog="python -m peak_trade.testing.kraken_emulator",
        description="Serve a loopback Kraken on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True, help="base64, as Kraken issues them")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", type=int, default=1000, help="closed 1m bars at start")
    parser.add_argument(
        "--data-path",
        help="serve these recorded 1m candles instead, moved in "
        "time so that the last one has just closed",
    )
    args = parser.parse_args(argv)
    timeframe = Timeframe("1m")
    now = datetime.now(UTC)
    if args.data_path:
        recorded = list(load_replay(args.data_path, timeframe).bars())
        shift = timeframe.floor(now) - timeframe.delta - recorded[-1].time
        bars = [replace(bar, time=bar.time + shift) for bar in recorded]
    else:
        start = timeframe.floor(now) - timedelta(minutes=args.history)
        bars = list(
            SyntheticMarket(
                seed=args.seed, timeframe=timeframe, start=start, bars=args.history + 24 * 60
            )
        )
    emulator = KrakenEmulator(
        bars,
        timeframe,
        lambda: datetime.now(UTC),
        api_key=args.api_key,
        api_secret=args.api_secret,
        port=args.port,
    ).start()
    print(emulator.base_url, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
