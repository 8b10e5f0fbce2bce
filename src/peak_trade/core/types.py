"""Domain values: candles (`Bar`), timeframes and tradable instruments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from peak_trade.core.errors import ConfigError, DataError, did_you_mean

__all__ = [
    "MAX_COUNT",
    "MAX_PRICE",
    "MAX_SEED",
    "MAX_WARMUP_CANDLES",
    "MIN_PRICE",
    "TIMEFRAMES",
    "Bar",
    "Instrument",
    "Timeframe",
    "parse_symbol",
]

# The largest seed of the synthetic market: a signed 64-bit integer, as the journal holds it.
MAX_SEED: Final = 2**63 - 1
# The most bars a warmup may hold: all of them are journaled in one event and shown to the
# strategy before a stop signal is looked at (100,000 take well under a second).
MAX_WARMUP_CANDLES: Final = 100_000
# The largest count of bars, steps or errors a run takes: far beyond any run, and within the
# 64-bit integers the journal and numpy hold.
MAX_COUNT: Final = 10**12
# The prices a candle may have: money is exact in Decimal's 28 digits and in the compiled
# loop's 128-bit integers, with up to 18 decimals for a price; a price of 1e300 or 1e-300
# would overflow them or round to nothing.
MIN_PRICE: Final = 1e-12
MAX_PRICE: Final = 1e12

# Minutes per supported timeframe. "2w" is Kraken's longest interval, 21600 minutes (15 days),
# named as ccxt names it.
TIMEFRAMES: Final[dict[str, int]] = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "4h": 240,
    "1d": 1440,
    "1w": 10080,
    "2w": 21600,
}


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A candle length such as "1m" or "4h"."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in TIMEFRAMES:
            raise ConfigError(
                f"timeframe must be one of {', '.join(TIMEFRAMES)}, was {self.name!r}"
                + did_you_mean(self.name, TIMEFRAMES)
            )

    @property
    def minutes(self) -> int:
        """Return the length in minutes."""
        return TIMEFRAMES[self.name]

    @property
    def seconds(self) -> int:
        """Return the length in seconds."""
        return TIMEFRAMES[self.name] * 60

    @property
    def delta(self) -> timedelta:
        """Return the length as a timedelta."""
        return timedelta(minutes=TIMEFRAMES[self.name])

    def bars_per_year(self) -> float:
        """Return how many bars of this length fit in a 365-day year (crypto trades 24/7)."""
        return 365 * 24 * 60 / self.minutes

    def floor(self, moment: datetime) -> datetime:
        """Return the open time of the candle that contains `moment`."""
        epoch = int(moment.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.seconds, tz=UTC)


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle: UTC open time and open, high, low, close, volume."""

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise DataError(f"bad candle at {self._time_text()}: {problem}")

    def _time_text(self) -> str:
        return self.time.isoformat() if isinstance(self.time, datetime) else repr(self.time)

    def _problem(self) -> str | None:
        if not isinstance(self.time, datetime) or self.time.utcoffset() != _NO_OFFSET:
            return f"time must be a UTC-aware datetime, was {self.time!r}"
        o, h, lo, c = self.open, self.high, self.low, self.close
        # the common case in one expression (a NaN fails every comparison); the rules below
        # say which one a bad candle breaks
        if MIN_PRICE <= lo <= o <= h <= MAX_PRICE and lo <= c <= h and 0 <= self.volume < math.inf:
            return None
        prices = (
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
        )
        for name, value in prices:
            if not math.isfinite(value) or value <= 0:
                return f"{name} must be a finite price > 0, was {value!r}"
            if not MIN_PRICE <= value <= MAX_PRICE:
                return (
                    f"{name} must be from {MIN_PRICE:g} to {MAX_PRICE:g} (the prices that orders "
                    f"and the ledger keep exact), was {value!r}"
                )
        if not math.isfinite(self.volume) or self.volume < 0:
            return f"volume must be finite and >= 0, was {self.volume!r}"
        if self.high < max(self.open, self.close):
            return f"high {self.high} is below max(open, close) {max(self.open, self.close)}"
        if self.low > min(self.open, self.close):
            return f"low {self.low} is above min(open, close) {min(self.open, self.close)}"
        return None


def parse_symbol(symbol: str) -> tuple[str, str]:
    """Split "BASE/QUOTE" into its two parts, upper case (letters and digits only), or raise
    ConfigError."""
    base, sep, quote = symbol.strip().partition("/")
    if not (sep and base.isalnum() and quote.isalnum() and base.isascii() and quote.isascii()):
        raise ConfigError(f"symbol must look like BASE/QUOTE (e.g. BTC/EUR), was {symbol!r}")
    return base.upper(), quote.upper()


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable pair with the exchange's precision and minimum order rules."""

    symbol: str
    base: str
    quote: str
    price_decimals: int
    lot_decimals: int
    min_order_size: Decimal
    min_order_cost: Decimal

    def __post_init__(self) -> None:
        if (self.base, self.quote) != parse_symbol(self.symbol):
            raise ConfigError(
                f"instrument {self.symbol!r} does not match "
                f"base {self.base!r} / quote {self.quote!r}"
            )
        for name, places in (
            ("price_decimals", self.price_decimals),
            ("lot_decimals", self.lot_decimals),
        ):
            if not 0 <= places <= 18:
                raise ConfigError(f"{name} must be in [0, 18], was {places}")
        for name, amount in (
            ("min_order_size", self.min_order_size),
            ("min_order_cost", self.min_order_cost),
        ):
            if not amount.is_finite() or amount < 0:
                raise ConfigError(f"{name} must be a finite amount >= 0, was {amount}")

    @property
    def lot_step(self) -> Decimal:
        """Return the smallest quantity increment."""
        return _STEPS[self.lot_decimals]

    @property
    def price_step(self) -> Decimal:
        """Return the smallest price increment."""
        return _STEPS[self.price_decimals]


# 10**-k for the decimals an instrument may have, made once (a fill asks for its step twice)
_STEPS: Final = tuple(Decimal(1).scaleb(-places) for places in range(19))
_NO_OFFSET: Final = timedelta(0)  # a UTC time's offset
