"""A loopback Kraken emulator on 127.0.0.1 and the shared clock that drives it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from peak_trade.core.clock import ManualClock
from peak_trade.core.types import Timeframe
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.testing.kraken_emulator import KrakenEmulator

KEY = "emulator-public-key-1234"
SECRET = base64.b64encode(b"emulator-private-secret-never-printed-5678").decode()
START = datetime(2024, 1, 1, tzinfo=UTC)
HISTORY = 800  # bars closed when a test starts


@dataclass
class Exchange:
    """The running emulator and the clock it reads."""

    emulator: KrakenEmulator
    clock: ManualClock

    @property
    def url(self) -> str:
        return self.emulator.base_url


@pytest.fixture
def kraken() -> Iterator[Exchange]:
    clock = ManualClock(START + timedelta(minutes=HISTORY, seconds=5))
    bars = list(SyntheticMarket(seed=11, bars=3_000, start=START))
    with KrakenEmulator(bars, Timeframe("1m"), clock.now, api_key=KEY, api_secret=SECRET) as em:
        yield Exchange(em, clock)
