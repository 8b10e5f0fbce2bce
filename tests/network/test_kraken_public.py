"""Against the real Kraken public API; run only with `pytest --run-network`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.parsing import find_pair, instrument_from_pair, parse_ohlc

pytestmark = pytest.mark.network


def test_real_kraken_ohlc_has_closed_candles_and_one_open() -> None:
    client = KrakenClient("https://api.kraken.com", 15.0)
    pair_id, info = find_pair(client.asset_pairs(), "BTC/EUR")
    assert pair_id == "XXBTZEUR"
    assert instrument_from_pair("BTC/EUR", info).lot_decimals == 8
    page = parse_ohlc(client.ohlc(pair_id, 1), pair_id)
    assert len(page.closed) >= 700
    assert page.forming is not None
    now = datetime.now(UTC)
    assert all((now - bar.time).total_seconds() >= 60 for bar in page.closed)
    assert page.last == int(page.closed[-1].time.timestamp())
