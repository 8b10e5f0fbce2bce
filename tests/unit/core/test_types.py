"""Bars, timeframes, symbols and instruments reject bad values with a precise message."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.errors import ConfigError, DataError
from peak_trade.core.types import MAX_PRICE, MIN_PRICE, Bar, Instrument, Timeframe, parse_symbol
from peak_trade.data.instruments import offline_instrument
from peak_trade.testing.builders import START, make_bar


def test_valid_bar_keeps_its_values() -> None:
    bar = Bar(START, 100.0, 101.0, 99.0, 100.5, 3.0)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (100.0, 101.0, 99.0, 100.5, 3.0)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"close": math.nan}, "close must be a finite price > 0, was nan"),
        ({"open": math.inf, "high": math.inf}, "open must be a finite price > 0, was inf"),
        ({"low": 0.0}, "low must be a finite price > 0, was 0.0"),
        ({"low": -1.0}, "low must be a finite price > 0, was -1.0"),
        ({"volume": -0.1}, "volume must be finite and >= 0, was -0.1"),
        ({"high": 99.5}, "high 99.5 is below max(open, close) 100.5"),
        ({"low": 100.2}, "low 100.2 is above min(open, close) 100.0"),
    ],
)
def test_bad_bar_is_rejected_with_its_time_and_rule(fields: dict[str, float], reason: str) -> None:
    values = {"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 1.0} | fields
    with pytest.raises(DataError) as caught:
        Bar(START, **values)
    assert str(caught.value) == f"bad candle at 2024-01-01T00:00:00+00:00: {reason}"


def _valid_by_the_rules(o: float, h: float, lo: float, c: float, v: float) -> bool:
    """The candle rules, one by one, as the error messages state them."""
    prices_ok = all(MIN_PRICE <= p <= MAX_PRICE for p in (o, h, lo, c))
    return prices_ok and math.isfinite(v) and v >= 0 and h >= max(o, c) and lo <= min(o, c)


_PRICE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 100.0, 100.5, 5e-324, math.inf, -math.inf, math.nan]),
    # the edges of the prices money holds exactly, and beyond them
    st.sampled_from([MIN_PRICE, MAX_PRICE, 1e-13, 1.000001e12, 1e308, 1e-300]),
)


@settings(max_examples=2_000, deadline=None)
@given(_PRICE, _PRICE, _PRICE, _PRICE, _PRICE)
def test_a_bar_is_accepted_exactly_when_every_candle_rule_holds(
    o: float, h: float, lo: float, c: float, v: float
) -> None:
    try:
        Bar(START, o, h, lo, c, v)
        accepted = True
    except DataError:
        accepted = False
    assert accepted == _valid_by_the_rules(o, h, lo, c, v)


def test_bar_needs_utc_aware_time() -> None:
    with pytest.raises(DataError, match="time must be a UTC-aware datetime"):
        make_bar(time=datetime(2024, 1, 1))  # noqa: DTZ001 (the point of the test)
    with pytest.raises(DataError, match="time must be a UTC-aware datetime"):
        make_bar(time=datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1))))


def test_bar_is_frozen() -> None:
    bar = make_bar()
    with pytest.raises(AttributeError):
        bar.close = 5.0  # type: ignore[misc]


def test_timeframe_lengths_and_floor() -> None:
    assert Timeframe("1m").seconds == 60
    assert Timeframe("4h").minutes == 240
    assert Timeframe("2w").minutes == 21600  # Kraken's longest interval, 15 days
    assert Timeframe("5m").floor(datetime(2024, 1, 1, 0, 7, 30, tzinfo=UTC)) == datetime(
        2024, 1, 1, 0, 5, tzinfo=UTC
    )
    assert Timeframe("1h").bars_per_year() == 8760


def test_unknown_timeframe_lists_the_supported_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        Timeframe("5min")
    assert str(caught.value) == (
        "timeframe must be one of 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w, 2w, "
        "was '5min'; did you mean '5m'?"
    )


@pytest.mark.parametrize(
    "symbol", ["BTCEUR", "", "/EUR", "BTC/", "A/B/C", "BTC /EUR", "BTC/E-UR", "BTC/ÉUR"]
)
def test_bad_symbol_is_rejected(symbol: str) -> None:
    with pytest.raises(ConfigError, match=f"symbol must look like BASE/QUOTE .*was '{symbol}'"):
        parse_symbol(symbol)


def test_symbol_is_split_and_upper_cased() -> None:
    assert parse_symbol("eth/eur") == ("ETH", "EUR")
    assert parse_symbol(" BTC/EUR ") == ("BTC", "EUR")  # as a shell or a config may leave it


def test_offline_instruments_are_krakens_from_the_snapshot() -> None:
    instrument = offline_instrument("BTC/EUR")  # Kraken's XXBTZEUR, in common names
    assert instrument.lot_step == Decimal("0.00000001")
    assert instrument.price_step == Decimal("0.1")
    assert instrument.min_order_size == Decimal("0.00005")
    assert instrument.min_order_cost == Decimal("0.45")
    fx = offline_instrument("eur/usd")  # ZEURZUSD
    assert (fx.price_step, fx.lot_step, fx.min_order_size) == (
        Decimal("0.00001"),
        Decimal("0.00000001"),
        Decimal("0.5"),
    )
    assert offline_instrument("DOGE/USD").symbol == "DOGE/USD"  # XDG on Kraken
    with pytest.raises(ConfigError, match="has no pair NOPE/EUR"):
        offline_instrument("NOPE/EUR")


def test_instrument_rejects_inconsistent_or_negative_rules() -> None:
    with pytest.raises(ConfigError, match="does not match base 'ETH'"):
        Instrument("BTC/EUR", "ETH", "EUR", 1, 8, Decimal(0), Decimal(0))
    with pytest.raises(ConfigError, match="lot_decimals must be in \\[0, 18\\], was 19"):
        Instrument("BTC/EUR", "BTC", "EUR", 1, 19, Decimal(0), Decimal(0))
    with pytest.raises(ConfigError, match="min_order_size must be a finite amount >= 0, was -1"):
        Instrument("BTC/EUR", "BTC", "EUR", 1, 8, Decimal(-1), Decimal(0))
