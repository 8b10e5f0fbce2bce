"""The emulated exchange: its market, its judgement of AddOrder, its queue of faults.

Candles come from prepared bars; the emulator's clock decides which are closed. AddOrder is
checked as Kraken checks it (key, signature, nonce, arguments); `validate=true` is the only
validate-only spelling, `validate=false` or none places the order, anything else is refused.
"""

from __future__ import annotations

import base64
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from peak_trade.core.types import Bar, Timeframe
from peak_trade.kraken.signing import kraken_signature
from peak_trade.testing.kraken_emulator.faults import Fault, FaultPlan
from peak_trade.testing.kraken_emulator.server import serve

__all__ = ["PAIRS", "AddOrderCall", "KrakenEmulator"]

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
PAIRS["SOLEUR"] = {
    **PAIRS["XETHZEUR"],
    "altname": "SOLEUR",
    "wsname": "SOL/EUR",
    "base": "SOL",
    "ordermin": "0.02",
}
MAX_ROWS = 720
MAX_TRADES = 1000


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
    # the bars of the other pairs it serves (a portfolio's), by Kraken pair id
    more_bars: dict[str, Sequence[Bar]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    add_orders: list[AddOrderCall] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)  # faults used, by kind
    outage_until: datetime | None = None  # every request fails until then (its clock)
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
        self._server = serve(self, self.port)
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
                    self.injected[fault.kind] += 1
                    return fault
        return None

    def apply(self, plans: Iterable[FaultPlan]) -> None:
        """Queue the plans' faults and start their outages (from the emulator's time now)."""
        for plan in plans:
            self.script(*plan.faults)
            if plan.outage_seconds:
                self.outage(plan.outage_seconds)

    def outage(self, seconds: float) -> None:
        """Fail every request for `seconds` from now."""
        with self._lock:
            self.outage_until = self.now() + timedelta(seconds=seconds)

    def in_outage(self) -> bool:
        """Return True (and count it) while an outage lasts."""
        with self._lock:
            down = self.outage_until is not None and self.now() < self.outage_until
            if down:
                self.injected["outage"] += 1
            return down

    def clear_faults(self) -> None:
        """Forget the queued faults and end an outage."""
        with self._lock:
            self.faults.clear()
            self.outage_until = None

    def fault_status(self) -> dict[str, Any]:
        """Return the queued faults by endpoint and kind, those used, and the outage's end."""
        with self._lock:
            queued = Counter(f"{fault.kind}@{fault.endpoint}" for fault in self.faults)
            until = self.outage_until
            return {
                "queued": dict(queued),
                "injected": dict(self.injected),
                "outage_until": until.isoformat() if until else None,
            }

    def asset_pairs(self) -> dict[str, dict[str, Any]]:
        """Return the pairs the emulator trades, in Kraken's AssetPairs shape."""
        return PAIRS

    # --- market ------------------------------------------------------------------------------

    def pair_of(self, name: str | None) -> str | None:
        """Return the pair id a request's `pair` names (its id or altname), if served."""
        for pair_id in (self.pair_id, *self.more_bars):
            if name in (pair_id, PAIRS[pair_id]["altname"]):
                return pair_id
        return None

    def closed_bars(self, pair_id: str | None = None) -> list[Bar]:
        """Return the bars of `pair_id` (the main pair by default) closed at the current time."""
        now = self.now()
        bars = self.bars if pair_id in (None, self.pair_id) else self.more_bars[str(pair_id)]
        return [bar for bar in bars if bar.time + self.timeframe.delta <= now]

    def ohlc(self, since: int | None, gap: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return the OHLC result of a pair at the current time."""
        pair_id = pair_id or self.pair_id
        closed = self.closed_bars(pair_id)
        if since is not None:
            closed = [bar for bar in closed if bar.time.timestamp() > since]
        forming_time = self.timeframe.floor(self.now())
        bars = self.bars if pair_id == self.pair_id else self.more_bars[pair_id]
        previous = closed[-1].close if closed else (bars[0].open if bars else 1.0)
        rows = [_row(bar) for bar in closed][-(MAX_ROWS - 1) :]
        if gap and len(rows) > gap + 2:
            middle = len(rows) // 2
            del rows[middle : middle + gap]
        last = int(closed[-1].time.timestamp()) if closed else (since or 0)
        forming = [int(forming_time.timestamp()), *(f"{previous:.10f}",) * 5, "0.00000000", 0]
        return {pair_id: [*rows, forming], "last": last}

    def trades(self, since: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return up to 1,000 trades after `since`, as Kraken's Trades: Unix seconds, or
        (above 1e12) the nanosecond `last` of an earlier answer. Each closed bar traded four
        times: its open, its high and low, its close, a quarter of its volume each."""
        pair_id = pair_id or self.pair_id
        after = since if since > 10**12 else since * 10**9 - 1
        step = int(self.timeframe.delta.total_seconds()) * 10**9 // 4
        rows: list[list[Any]] = []
        last = after
        for bar in self.closed_bars(pair_id):
            start = int(bar.time.timestamp()) * 10**9
            for k, price in enumerate((bar.open, bar.high, bar.low, bar.close)):
                stamp = start + k * step
                if stamp > after and len(rows) < MAX_TRADES:
                    side = "b" if k % 2 == 0 else "s"
                    trade_id = start // 10**9 * 4 + k
                    rows.append(
                        [repr(price), repr(bar.volume / 4), stamp / 1e9, side, "m", "", trade_id]
                    )
                    last = stamp
            if len(rows) >= MAX_TRADES:
                break
        return {pair_id: rows, "last": str(last)}

    def depth(self, count: int, pair_id: str | None = None) -> dict[str, Any]:
        """Return a synthetic order book around the pair's last close."""
        pair_id = pair_id or self.pair_id
        closed = self.closed_bars(pair_id)
        mid = closed[-1].close if closed else 50_000.0
        step = mid * 0.0002
        asks = [[f"{mid + step * (i + 1):.1f}", f"{0.05 * (i + 1):.8f}", 0] for i in range(count)]
        bids = [[f"{mid - step * (i + 1):.1f}", f"{0.05 * (i + 1):.8f}", 0] for i in range(count)]
        return {pair_id: {"asks": asks, "bids": bids}}

    def add_order(self, path: str, headers: dict[str, str], body: str) -> dict[str, Any]:
        """Judge an AddOrder exactly as Kraken would and record it."""
        fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        nonce_text = fields.get("nonce", "")
        key_ok = headers.get("API-Key") == self.api_key
        expected = kraken_signature(path, nonce_text, body, self.api_secret)
        signature_ok = key_ok and headers.get("API-Sign") == expected
        nonce = int(nonce_text) if nonce_text.isdigit() else -1
        error = self._order_error(fields, key_ok, signature_ok, nonce)
        validate = fields.get("validate") == "true"
        with self._lock:
            if error is None or error not in ("EAPI:Invalid key", "EAPI:Invalid signature"):
                self._last_nonce = max(self._last_nonce, nonce)
            self.add_orders.append(
                AddOrderCall(fields, key_ok, signature_ok, nonce, validate, error)
            )
        if error is not None:
            return {"error": [error]}
        descr = {
            "order": f"{fields['type']} {float(fields['volume']):.8f} "
            f"{PAIRS[self.pair_of(fields['pair']) or self.pair_id]['altname']} @ "
            f"{fields['ordertype']}" + (f" {fields['price']}" if "price" in fields else "")
        }
        if validate:
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
        return _argument_error(fields)


def _argument_error(fields: dict[str, str]) -> str | None:
    """Return Kraken's error for AddOrder arguments it would refuse, or None."""
    if fields.get("validate", "false") not in ("true", "false"):
        return "EGeneral:Invalid arguments:validate"
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
