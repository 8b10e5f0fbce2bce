"""Where orders may go: the trading environment and the kinds of venue call."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TradingEnvironment", "VenueAction"]


class TradingEnvironment(StrEnum):
    """The environment a session runs in. LIVE exists only to be refused."""

    SHADOW = "shadow"
    TESTNET = "testnet"
    LIVE = "live"


class VenueAction(StrEnum):
    """What a venue does with an order; the SafetyGuard decides which ones may happen."""

    SIMULATE = "simulate"  # fill in-process, nothing leaves the machine
    VALIDATE = "validate"  # send to the exchange's validate-only endpoint, never placed
    PLACE = "place"  # a real order on a real exchange: always refused
