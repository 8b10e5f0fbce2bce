"""The download sources without a network: candles from trades, a ccxt exchange paged by time
(a typed fake of the few calls it makes), and the pacing that waits out a rate limit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from peak_trade.core.errors import ConfigError, RateLimitError
from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import read_meta
from peak_trade.data.download import CcxtHistory, Pacer, candles_of_trades
from peak_trade.data.downloading import download

MINUTE = 60


def test_trades_make_candles_of_their_interval() -> None:
    # two trades in the first minute, none in the second, three in the third
    times = [0.5, 59.9, 120.0, 130.0, 179.999]
    prices = [10.0, 12.0, 11.0, 9.0, 10.5]
    volumes = [1.0, 2.0, 0.5, 0.25, 0.25]

    candles = candles_of_trades(times, prices, volumes, MINUTE)

    assert candles.tolist() == [
        [0.0, 10.0, 12.0, 10.0, 12.0, 3.0],
        [120.0, 11.0, 11.0, 9.0, 10.5, 1.0],
    ]


class FakeExchange:
    """The calls CcxtHistory makes of a ccxt exchange, over minute candles from 0 to 5,000."""

    id = "fakex"
    precisionMode = 4  # noqa: N815 (ccxt's name): tick sizes

    def __init__(self, failures: int = 0) -> None:
        self.timeframes: dict[str, Any] = {"1m": "1m", "1h": "1h"}
        self.calls: list[tuple[int | None, int | None]] = []
        self.failures = failures

    def load_markets(self) -> dict[str, Any]:
        return {
            "ETH/USDT": {
                "precision": {"price": 0.01, "amount": 0.0001},
                "limits": {"amount": {"min": 0.001}, "cost": {"min": 5}},
            }
        }

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None, limit: int | None
    ) -> list[list[Any]]:
        self.calls.append((since, limit))
        if self.failures:
            self.failures -= 1
            raise RateLimitError("fakex: rate limited")
        start = (since or 0) // 1000 // MINUTE
        return [
            [k * MINUTE * 1000, 100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k, 1.0]
            for k in range(start, min(start + (limit or 500), 5_000))
        ]

    def milliseconds(self) -> int:
        return 5_000 * MINUTE * 1000


def test_a_ccxt_exchange_is_paged_by_time_and_its_tick_sizes_are_decimals(tmp_path: Path) -> None:
    exchange = FakeExchange()
    history = CcxtHistory(exchange, "ETH/USDT", Timeframe("1m"), pace=0)

    result = download(history, Timeframe("1m"), tmp_path / "eth.csv", (0, 2_500 * MINUTE))

    assert (result.rows, result.first, result.last) == (2_500, 0, 2_499 * MINUTE)
    assert [since for since, _ in exchange.calls] == [
        0,
        1_000 * MINUTE * 1000,
        2_000 * MINUTE * 1000,
    ]
    rules = history.instrument()
    assert (rules.price_decimals, rules.lot_decimals) == (2, 4)
    assert (rules.min_order_size, rules.min_order_cost) == (Decimal("0.001"), Decimal(5))
    meta = read_meta(tmp_path / "eth.csv")
    assert meta is not None
    assert (meta.exchange, meta.symbol, meta.source) == ("fakex", "ETH/USDT", "ccxt fetch_ohlcv")
    closes = np.loadtxt(tmp_path / "eth.csv", delimiter=",", skiprows=1, usecols=4)
    assert closes[[0, -1]].tolist() == [100.5, 2_599.5]


def test_a_market_or_timeframe_the_exchange_lacks_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="fakex lists no market BTC/EUR"):
        CcxtHistory(FakeExchange(), "BTC/EUR", Timeframe("1m"), pace=0).instrument()
    with pytest.raises(ConfigError, match=r"fakex has no 5m candles \(it offers 1m, 1h\)"):
        CcxtHistory(FakeExchange(), "ETH/USDT", Timeframe("5m"), pace=0).instrument()


def test_a_rate_limit_is_waited_out_longer_each_time() -> None:
    waits: list[float] = []
    exchange = FakeExchange(failures=3)
    pacer = Pacer(0.0, sleep=waits.append)

    rows = pacer.call(lambda: exchange.fetch_ohlcv("ETH/USDT", "1m", 0, 2))

    assert len(rows) == 2
    assert waits == [0.1, 0.2, 0.4]


def test_a_rate_limit_that_never_lifts_ends_the_call() -> None:
    pacer = Pacer(0.0, sleep=lambda _: None)
    with pytest.raises(RateLimitError, match="fakex: rate limited"):
        pacer.call(lambda: FakeExchange(failures=9).fetch_ohlcv("ETH/USDT", "1m", 0, 2))
