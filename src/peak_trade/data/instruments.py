"""Instrument rules known offline: a snapshot of Kraken's AssetPairs, shipped with the package.

`kraken_pairs.json` holds, for every pair Kraken listed when the snapshot was taken, its price
and lot decimals and its minimum order size and cost, by "BASE/QUOTE" in common names (BTC,
not XBT). A run without an exchange trades by these when neither its candle file nor the
config gives rules (see `session.wiring.instrument_of`); a Kraken session reads the live ones.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from peak_trade.core.errors import ConfigError
from peak_trade.core.types import Instrument, parse_symbol

__all__ = ["SNAPSHOT_TAKEN", "offline_instrument", "snapshot_instrument"]

SNAPSHOT_TAKEN = "2026-01-12"  # when Kraken answered the snapshot's AssetPairs


@cache
def _pairs() -> dict[str, list[Any]]:
    text = (resources.files("peak_trade.data") / "kraken_pairs.json").read_text()
    pairs: dict[str, list[Any]] = json.loads(text)["pairs"]
    return pairs


def snapshot_instrument(symbol: str) -> Instrument | None:
    """Return Kraken's rules for `symbol` as the snapshot has them, or None."""
    base, quote = parse_symbol(symbol)
    rules = _pairs().get(f"{base}/{quote}")
    if rules is None:
        return None
    price, lot, size, cost = rules
    return Instrument(f"{base}/{quote}", base, quote, price, lot, Decimal(size), Decimal(cost))


def offline_instrument(symbol: str) -> Instrument:
    """Return the snapshot's rules for `symbol`, or a ConfigError when it has none."""
    rules = snapshot_instrument(symbol)
    if rules is None:
        raise ConfigError(f"Kraken's AssetPairs snapshot ({SNAPSHOT_TAKEN}) has no pair {symbol}")
    return rules
