"""The emulator's scripted faults, and how `--fault KIND[:ARGS]` and its control endpoint
spell them.

    http_500[:COUNT[:ENDPOINT]]   HTTP 500 with an HTML page (ENDPOINT default: OHLC)
    timeout[:COUNT[:ENDPOINT]]    the answer comes 3 s late (past a short client timeout)
    rate_limit[:COUNT[:ENDPOINT]] EAPI:Rate limit exceeded
    service[:COUNT[:ENDPOINT]]    EService:Unavailable
    malformed[:COUNT[:ENDPOINT]]  a JSON body cut off in the middle
    gap:BARS[:COUNT]              OHLC answers miss BARS rows in the middle
    insufficient_funds[:COUNT]    AddOrder refused with EOrder:Insufficient funds
    outage:SECONDS                every request is answered HTTP 503 for SECONDS from now

A fault with a COUNT is used by that many requests to its endpoint, one each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["FAULT_HELP", "Fault", "FaultPlan", "parse_fault"]

# kinds answered in place of an endpoint's answer, by the request that takes them
_ANSWERING: Final = ("http_500", "timeout", "rate_limit", "service", "malformed")
_ENDPOINTS: Final = ("OHLC", "AssetPairs", "Time", "Depth", "Trades", "AddOrder")
FAULT_HELP: Final = (
    "KIND[:ARGS], repeatable: http_500, timeout, rate_limit, service or malformed "
    "[:COUNT[:ENDPOINT]]; gap:BARS[:COUNT]; insufficient_funds[:COUNT]; outage:SECONDS"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """A scripted misbehaviour for the next request to `endpoint` (e.g. "OHLC")."""

    endpoint: str
    kind: str  # http_500, timeout, rate_limit, service, malformed, gap, insufficient_funds
    gap_bars: int = 0


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What one `--fault` asks for: faults to queue, or an outage of some seconds."""

    faults: tuple[Fault, ...] = ()
    outage_seconds: float = 0.0


def parse_fault(text: str) -> FaultPlan:
    """Parse `KIND[:ARGS]`; a ValueError says what was wrong and what is expected."""
    kind, *args = text.strip().split(":")
    if kind in _ANSWERING:
        count = _count(text, args[0] if args else "1")
        endpoint = args[1] if len(args) > 1 else "OHLC"
        if endpoint not in _ENDPOINTS or len(args) > 2:
            raise ValueError(
                f"{text!r}: expected {kind}[:COUNT[:ENDPOINT]] with ENDPOINT one of "
                f"{', '.join(_ENDPOINTS)}"
            )
        return FaultPlan(tuple(Fault(endpoint, kind) for _ in range(count)))
    if kind == "gap" and len(args) in (1, 2):
        bars = _count(text, args[0])
        count = _count(text, args[1] if len(args) > 1 else "1")
        return FaultPlan(tuple(Fault("OHLC-gap", "gap", gap_bars=bars) for _ in range(count)))
    if kind == "insufficient_funds" and len(args) <= 1:
        count = _count(text, args[0] if args else "1")
        return FaultPlan(tuple(Fault("AddOrder", kind) for _ in range(count)))
    if kind == "outage" and len(args) == 1:
        try:
            seconds = float(args[0])
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 86_400:
            raise ValueError(f"{text!r}: expected outage:SECONDS with SECONDS in (0, 86400]")
        return FaultPlan(outage_seconds=seconds)
    raise ValueError(f"{text!r}: expected {FAULT_HELP}")


def _count(text: str, value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise ValueError(f"{text!r}: expected a count from 1 to 100000, was {value!r}")
    return int(value)
