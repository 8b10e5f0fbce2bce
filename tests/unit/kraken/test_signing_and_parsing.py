"""Kraken signing against the documented example; parsing of Kraken payloads; error classes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.core.errors import (
    AuthError,
    ConfigError,
    FeedError,
    OrderRejectedError,
    RateLimitError,
    VenueError,
    VenueUnavailableError,
)
from peak_trade.kraken.nonce import NonceStore
from peak_trade.kraken.parsing import (
    error_class,
    find_pair,
    instrument_from_pair,
    kraken_asset,
    parse_ohlc,
)
from peak_trade.kraken.signing import kraken_signature

PAIRS = {
    "XXBTZEUR": {
        "altname": "XBTEUR",
        "wsname": "XBT/EUR",
        "base": "XXBT",
        "quote": "ZEUR",
        "pair_decimals": 1,
        "lot_decimals": 8,
        "ordermin": "0.00005",
        "costmin": "0.5",
    },
    "XETHZEUR": {
        "altname": "ETHEUR",
        "wsname": "ETH/EUR",
        "base": "XETH",
        "quote": "ZEUR",
        "pair_decimals": 2,
        "lot_decimals": 8,
        "ordermin": "0.002",
        "costmin": "0.5",
    },
    "SOLEUR": {
        "altname": "SOLEUR",
        "base": "SOL",
        "quote": "ZEUR",
        "pair_decimals": 2,
        "lot_decimals": 8,
        "ordermin": "0.02",
    },
}


def test_signature_matches_krakens_documented_example() -> None:
    signature = kraken_signature(
        "/0/private/AddOrder",
        "1616492376594",
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
        "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
    )
    assert signature == (
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    )


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("XXBT", "BTC"),
        ("ZEUR", "EUR"),
        ("XBT", "BTC"),
        ("XETH", "ETH"),
        ("SOL", "SOL"),
        ("XXDG", "DOGE"),
    ],
)
def test_asset_codes_map_to_common_names(code: str, name: str) -> None:
    assert kraken_asset(code) == name


def test_symbols_map_to_kraken_pair_ids() -> None:
    assert find_pair(PAIRS, "BTC/EUR")[0] == "XXBTZEUR"
    assert find_pair(PAIRS, "eth/eur")[0] == "XETHZEUR"
    assert find_pair(PAIRS, "SOL/EUR")[0] == "SOLEUR"
    with pytest.raises(ConfigError, match="Kraken lists no pair for DOGE/USD"):
        find_pair(PAIRS, "DOGE/USD")


def test_instrument_rules_come_from_asset_pairs() -> None:
    instrument = instrument_from_pair("ETH/EUR", PAIRS["XETHZEUR"])
    assert (instrument.price_decimals, instrument.lot_decimals) == (2, 8)
    assert instrument.min_order_size == Decimal("0.002")
    assert instrument.min_order_cost == Decimal("0.5")
    with pytest.raises(FeedError, match="AssetPairs for BTC/EUR is malformed"):
        instrument_from_pair("BTC/EUR", {"lot_decimals": 8})


def test_ohlc_sets_the_open_candle_apart() -> None:
    rows = [
        [1704067260, "101", "102", "100", "101.5", "101", "3.5", 7],
        [1704067200, "100", "101", "99", "100.5", "100", "2.0", 5],
        [1704067320, "101.5", "101.5", "101.5", "101.5", "0", "0", 0],
    ]
    page = parse_ohlc({"XXBTZEUR": rows, "last": 1704067260}, "XXBTZEUR")
    assert [bar.time for bar in page.closed] == [
        datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
    ]
    assert page.closed[0].volume == 2.0  # field 6 is the volume, field 5 the vwap
    assert page.forming is not None
    assert page.forming.time == datetime(2024, 1, 1, 0, 2, tzinfo=UTC)
    assert page.last == 1704067260


def test_ohlc_with_a_bad_candle_is_a_feed_error() -> None:
    rows = [
        [1704067200, "100", "99", "99", "100.5", "100", "2.0", 5],
        [1704067260, "1", "1", "1", "1", "1", "0", 0],
    ]
    with pytest.raises(FeedError, match=r"Kraken sent a bad candle: .*high 99.0 is below"):
        parse_ohlc({"XXBTZEUR": rows, "last": 0}, "XXBTZEUR")
    with pytest.raises(FeedError, match="no rows for XXBTZEUR"):
        parse_ohlc({"last": 0}, "XXBTZEUR")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("EOrder:Order minimum not met", OrderRejectedError),
        ("EOrder:Insufficient funds", OrderRejectedError),
        ("EGeneral:Invalid arguments", OrderRejectedError),
        ("EGeneral:Invalid arguments:price", OrderRejectedError),
        ("EAPI:Invalid key", AuthError),
        ("EAPI:Invalid signature", AuthError),
        ("EAPI:Invalid nonce", AuthError),
        ("EAPI:Rate limit exceeded", RateLimitError),
        ("EService:Unavailable", VenueUnavailableError),
        ("EService:Busy", VenueUnavailableError),
        ("EGeneral:Internal error", VenueUnavailableError),
        ("EWhatever:New thing", VenueError),
    ],
)
def test_kraken_errors_map_to_what_the_caller_must_do(text: str, kind: type[VenueError]) -> None:
    assert error_class(text) is kind


def test_nonce_store_only_grows_across_instances_and_clock_jumps(tmp_path: Path) -> None:
    path = tmp_path / "nonce"
    first = NonceStore(path, milliseconds=lambda: 5_000)
    assert [first.next(), first.next()] == [5_000, 5_001]
    restarted = NonceStore(path, milliseconds=lambda: 1_000)  # a clock that went backwards
    assert restarted.next() == 5_002
    later = NonceStore(path, milliseconds=lambda: 9_000)
    assert later.next() == 9_000
