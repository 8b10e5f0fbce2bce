"""A loopback Kraken: public market data and AddOrder on 127.0.0.1, for tests and dry runs.

It serves /0/public/Time, AssetPairs, OHLC (Kraken's shape: rows and `last`, at most 720
rows, the still-open candle last), Depth, and /0/private/AddOrder, which checks API-Key and
API-Sign exactly as Kraken does, refuses stale nonces and records every request. Faults can be
scripted per endpoint (HTTP 500, a timeout, rate limiting, EService errors, malformed JSON,
missing rows, an outage): from Python (`KrakenEmulator.script`, `apply`), from the command line
(`--fault`, see `cli`) or over HTTP while it runs (`server.CONTROL_PATH`).
"""

from peak_trade.testing.kraken_emulator.cli import main
from peak_trade.testing.kraken_emulator.exchange import PAIRS, AddOrderCall, KrakenEmulator
from peak_trade.testing.kraken_emulator.faults import Fault, FaultPlan, parse_fault

__all__ = ["PAIRS", "AddOrderCall", "Fault", "FaultPlan", "KrakenEmulator", "main", "parse_fault"]
