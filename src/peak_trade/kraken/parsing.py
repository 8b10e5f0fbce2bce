"""Pure translation between Kraken's REST payloads and Peak Trade's values (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from peak_trade.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    FeedError,
    OrderRejectedError,
    RateLimitError,
    VenueError,
    VenueUnavailableError,
)
from peak_trade.core.types import TIMEFRAMES, Bar, Instrument, parse_symbol

Level = tuple[Decimal, Decimal]

__all__ = [
    "KRAKEN_INTERVALS",
    "Level",
    "OhlcPage",
    "TradesPage",
    "error_class",
    "find_pair",
    "instrument_from_pair",
    "kraken_asset",
    "parse_depth",
    "parse_ohlc",
    "parse_trades",
]

# Kraken's OHLC intervals in minutes are exactly our timeframes (2w is its 21600-minute one).
KRAKEN_INTERVALS: Final = dict(TIMEFRAMES)
_ALIASES: Final = {"XBT": "BTC", "XDG": "DOGE"}

# Most specific first: the first prefix that matches decides what the caller must do.
_ERRORS: Final[tuple[tuple[str, type[VenueError]], ...]] = (
    ("EAPI:Rate limit exceeded", RateLimitError),
    ("EOrder:Rate limit exceeded", RateLimitError),
    ("EGeneral:Too many requests", RateLimitError),
    ("EGeneral:Temporary lockout", RateLimitError),
    ("EAPI:Invalid key", AuthError),
    ("EAPI:Invalid signature", AuthError),
    ("EAPI:Invalid nonce", AuthError),
    ("EGeneral:Permission denied", AuthError),
    ("EService:", VenueUnavailableError),
    ("EGeneral:Internal error", VenueUnavailableError),
    ("EDatabase:", VenueUnavailableError),
    ("EOrder:", OrderRejectedError),
    ("EGeneral:Invalid arguments", OrderRejectedError),
    ("EQuery:", OrderRejectedError),
)


def error_class(message: str) -> type[VenueError]:
    """Return the error class for a Kraken error text such as "EOrder:Insufficient funds"."""
    for prefix, error_type in _ERRORS:
        if message.startswith(prefix):
            return error_type
    return VenueError


def kraken_asset(code: str) -> str:
    """Return the common name of a Kraken asset code: XXBT -> BTC, ZEUR -> EUR, XBT -> BTC."""
    if len(code) == 4 and code[0] in "XZ":
        code = code[1:]
    return _ALIASES.get(code, code)


def find_pair(pairs: Mapping[str, Mapping[str, Any]], symbol: str) -> tuple[str, Mapping[str, Any]]:
    """Return Kraken's pair id and description for "BASE/QUOTE", or raise ConfigError."""
    wanted = parse_symbol(symbol)
    for pair_id, info in pairs.items():
        wsname = str(info.get("wsname", ""))
        if "/" in wsname:
            base, _, quote = wsname.partition("/")
        else:
            base, quote = str(info.get("base", "")), str(info.get("quote", ""))
        if (kraken_asset(base), kraken_asset(quote)) == wanted:
            return pair_id, info
    raise ConfigError(f"Kraken lists no pair for {symbol}; check --symbol (e.g. BTC/EUR)")


def instrument_from_pair(symbol: str, info: Mapping[str, Any]) -> Instrument:
    """Build the instrument rules (precision, minimum size and cost) from AssetPairs."""
    base, quote = parse_symbol(symbol)
    try:
        return Instrument(
            symbol=f"{base}/{quote}",
            base=base,
            quote=quote,
            price_decimals=int(info["pair_decimals"]),
            lot_decimals=int(info["lot_decimals"]),
            min_order_size=Decimal(str(info.get("ordermin", "0"))),
            min_order_cost=Decimal(str(info.get("costmin", "0"))),
        )
    except (KeyError, ValueError, ArithmeticError) as error:
        raise FeedError(f"Kraken AssetPairs for {symbol} is malformed: {error!r}") from None


@dataclass(frozen=True, slots=True)
class OhlcPage:
    """One OHLC answer: the closed candles, the still-open one, and `last`."""

    closed: tuple[Bar, ...]
    forming: Bar | None
    last: int


def parse_ohlc(result: Mapping[str, Any], pair_id: str) -> OhlcPage:
    """Parse an OHLC result; the last row is the open candle and is set apart, never traded."""
    rows = result.get(pair_id)
    if not isinstance(rows, list):
        raise FeedError(f"Kraken OHLC answer has no rows for {pair_id}")
    bars = sorted((_bar(row) for row in rows), key=lambda bar: bar.time)
    try:
        last = int(result.get("last", 0))
    except (TypeError, ValueError):
        raise FeedError(f"Kraken OHLC 'last' is not a number: {result.get('last')!r}") from None
    if not bars:
        return OhlcPage((), None, last)
    return OhlcPage(tuple(bars[:-1]), bars[-1], last)


@dataclass(frozen=True, slots=True)
class TradesPage:
    """One Trades answer: each trade's time (Unix seconds), price and volume, oldest first,
    and `last`, the nanosecond id to ask for the trades after them."""

    times: tuple[float, ...]
    prices: tuple[float, ...]
    volumes: tuple[float, ...]
    last: int


def parse_trades(result: Mapping[str, Any], pair_id: str) -> TradesPage:
    """Parse a Trades result: rows of [price, volume, time, side, type, misc, id]."""
    rows = result.get(pair_id)
    if not isinstance(rows, list):
        raise FeedError(f"Kraken Trades answer has no rows for {pair_id}")
    try:
        trades = sorted((float(r[2]), float(r[0]), float(r[1])) for r in rows)
        last = int(result["last"])
    except (IndexError, KeyError, TypeError, ValueError) as error:
        raise FeedError(f"Kraken Trades answer is malformed: {error!r}") from None
    if any(not price > 0 or not volume >= 0 for _, price, volume in trades):
        raise FeedError("Kraken Trades answer has a trade without a positive price")
    return TradesPage(
        tuple(t for t, _, _ in trades),
        tuple(p for _, p, _ in trades),
        tuple(v for _, _, v in trades),
        last,
    )


def parse_depth(book: Mapping[str, Any]) -> tuple[list[Level], list[Level]]:
    """Return (asks, bids) as (price, volume) levels, best first."""
    try:
        asks = [(Decimal(str(row[0])), Decimal(str(row[1]))) for row in book.get("asks", [])]
        bids = [(Decimal(str(row[0])), Decimal(str(row[1]))) for row in book.get("bids", [])]
    except (IndexError, TypeError, ArithmeticError) as error:
        raise FeedError(f"Kraken Depth answer is malformed: {error!r}") from None
    asks.sort(key=lambda level: level[0])
    bids.sort(key=lambda level: level[0], reverse=True)
    return asks, bids


def _bar(row: Sequence[Any]) -> Bar:
    try:
        time = datetime.fromtimestamp(int(row[0]), tz=UTC)
        o, h, lo, c, volume = (float(row[i]) for i in (1, 2, 3, 4, 6))
    except (IndexError, TypeError, ValueError) as error:
        raise FeedError(f"Kraken OHLC row {row!r} is malformed: {error}") from None
    try:
        return Bar(time, o, h, lo, c, volume)
    except DataError as error:
        raise FeedError(f"Kraken sent a bad candle: {error}") from None
