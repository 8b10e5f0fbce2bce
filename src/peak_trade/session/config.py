"""LiveSessionConfig: the parameters of one session, validated when it is created."""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError, did_you_mean
from peak_trade.core.files import is_name_char, is_plain_name
from peak_trade.core.money import to_decimal
from peak_trade.core.timerange import parse_timerange
from peak_trade.core.types import (
    MAX_COUNT,
    MAX_SEED,
    MAX_WARMUP_CANDLES,
    TIMEFRAMES,
    parse_symbol,
)
from peak_trade.orders.kernels import rate_steps

__all__ = [
    "DATA_SOURCES",
    "FILL_PRICES",
    "MAX_RUN_ID",
    "MAX_START_BALANCE",
    "MODES",
    "LiveSessionConfig",
    "run_id_from",
]

MODES: Final = ("shadow", "testnet")
DATA_SOURCES: Final = ("synthetic", "replay", "kraken")
FILL_PRICES: Final = ("next_open", "close", "book")
# Money is exact in Decimal's 28 digits with 12 decimals, so up to 1e16; this leaves the
# balance room to grow ten thousandfold.
MAX_START_BALANCE: Final = 1e12
# A run id names its report folder: well within a file name's 255 bytes.
MAX_RUN_ID: Final = 128


@dataclass(frozen=True)
class LiveSessionConfig:
    """One session: what to trade, how, on which data. Invalid values raise ConfigError."""

    mode: str = "shadow"
    strategy_key: str = "ma_crossover"
    symbol: str = "BTC/EUR"
    timeframe: str = "1m"
    config_path: str = "config/config.toml"
    warmup_candles: int = 200
    position_fraction: float = 0.1
    poll_interval_seconds: float = 60.0
    fee_rate: float = 0.001
    slippage_bps: float = 5.0
    start_balance: float = 10_000.0
    enable_risk_limits: bool = True
    enable_logging: bool = True
    run_id: str | None = None
    data_source: str = "kraken"
    data_path: str | None = None
    seed: int = 7
    fill_price: str = "next_open"
    allow_short: bool = False
    journal_path: str | None = None
    max_consecutive_errors: int = 5
    synthetic_bars: int | None = None  # with data_source "synthetic": stop after this many bars
    timerange: str | None = None  # with data_source "replay": START:END of the file to read

    def __post_init__(self) -> None:
        self._check_mode()
        self._check_names()
        self._check_numbers()
        self._check_data()

    def _check_mode(self) -> None:
        if self.mode == "live":
            raise LiveModeNotAllowedError(
                "mode 'live' is not allowed: Peak Trade never sends real orders "
                "(expected 'shadow' or 'testnet')"
            )
        if self.mode not in MODES:
            raise ConfigError(
                f"invalid mode {self.mode!r}: expected 'shadow' or 'testnet'"
                + did_you_mean(self.mode, MODES)
            )

    def _check_names(self) -> None:
        if not self.strategy_key or not self.strategy_key.strip():
            raise ConfigError("strategy_key must not be empty")
        try:
            base, quote = parse_symbol(self.symbol)
        except ConfigError:
            raise ConfigError(
                f"invalid symbol {self.symbol!r}: expected BASE/QUOTE, e.g. BTC/EUR"
            ) from None
        object.__setattr__(self, "symbol", f"{base}/{quote}")  # btc/eur is BTC/EUR
        if self.timeframe not in TIMEFRAMES:
            raise ConfigError(
                f"invalid timeframe {self.timeframe!r}: expected one of "
                f"{', '.join(TIMEFRAMES)}" + did_you_mean(self.timeframe, TIMEFRAMES)
            )
        if self.run_id is not None and not is_plain_name(self.run_id):
            raise ConfigError(
                f"run_id may hold letters, digits, '-', '_' and '.', was {self.run_id!r}"
            )
        if self.run_id is not None and len(self.run_id) > MAX_RUN_ID:
            raise ConfigError(
                f"run_id may be at most {MAX_RUN_ID} characters long (it names the report "
                f"folder), was {len(self.run_id)}"
            )

    def _check_numbers(self) -> None:
        _require(
            0 <= self.warmup_candles <= MAX_WARMUP_CANDLES,
            f"warmup_candles must be in [0, {MAX_WARMUP_CANDLES:,}] (every warmup bar is "
            "journaled at once)",
            self.warmup_candles,
        )
        _require(
            0 < self.position_fraction <= 1,
            "position_fraction must be in (0, 1]",
            self.position_fraction,
        )
        _require(
            self.poll_interval_seconds > 0,
            "poll_interval_seconds must be > 0",
            self.poll_interval_seconds,
        )
        _require(
            0 < self.start_balance <= MAX_START_BALANCE,
            "start_balance must be > 0 and at most 1e12 (the ledger keeps money exact in 28 "
            "digits, 12 of them decimals, and leaves room for the balance to grow)",
            self.start_balance,
        )
        _require(0 <= self.fee_rate < 0.1, "fee_rate must be in [0, 0.1)", self.fee_rate)
        _require(
            0 <= self.slippage_bps <= 1000, "slippage_bps must be in [0, 1000]", self.slippage_bps
        )
        _require(
            1 <= self.max_consecutive_errors <= MAX_COUNT,
            f"max_consecutive_errors must be in [1, {MAX_COUNT:,}]",
            self.max_consecutive_errors,
        )
        rates = (
            ("position_fraction", self.position_fraction, 0),
            ("slippage_bps", self.slippage_bps, 4),
            ("fee_rate", self.fee_rate, 0),
        )
        for name, rate, scale in rates:  # the order kernels count rates in at most 18 places
            try:
                rate_steps(name, to_decimal(rate), scale)
            except ValueError as error:
                raise ConfigError(str(error)) from None

    def _check_data(self) -> None:
        if self.data_source not in DATA_SOURCES:
            raise ConfigError(
                f"invalid data_source {self.data_source!r}: expected one of "
                f"{', '.join(DATA_SOURCES)}"
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be a whole number from 0 to {MAX_SEED}, was {self.seed}")
        if self.synthetic_bars is not None and not 0 < self.synthetic_bars <= MAX_COUNT:
            raise ConfigError(
                f"synthetic_bars must be in [1, {MAX_COUNT:,}], was {self.synthetic_bars}"
            )
        if self.data_source == "replay" and not self.data_path:
            raise ConfigError("data_source 'replay' needs data_path, a CSV or Parquet file")
        if self.timerange is not None:
            if self.data_source != "replay":
                raise ConfigError(
                    f"--timerange picks candles of a file; it needs --data replay, not "
                    f"{self.data_source}"
                )
            parse_timerange(self.timerange)
        if self.fill_price == "book" and self.data_source != "kraken":
            raise ConfigError(
                "fill_price 'book' prices fills from Kraken's order book; it needs "
                "data_source 'kraken'"
            )
        if self.fill_price not in FILL_PRICES:
            raise ConfigError(
                f"invalid fill_price {self.fill_price!r}: expected one of {', '.join(FILL_PRICES)}"
            )

    def generate_run_id(self, now: datetime | None = None) -> str:
        """Return run_id, or a new "{mode}_{strategy}_{UTC time}_{8 hex}" identifier."""
        if self.run_id:
            return self.run_id
        moment = now or datetime.now(UTC)
        return f"{self.mode}_{self.strategy_key}_{moment:%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"

    def to_dict(self) -> dict[str, Any]:
        """Return every field by name."""
        return asdict(self)


def _require(condition: bool, message: str, value: float) -> None:
    if not condition or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{message}, was {value}")


def run_id_from(text: str) -> str:
    """Return `text` as a valid run id: each character a run id may not hold becomes '-', and
    a text too long is cut, with a digest of the whole so that two long texts stay apart."""
    name = "".join(c if is_name_char(c) else "-" for c in text)
    if len(name) <= MAX_RUN_ID:
        return name
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{name[: MAX_RUN_ID - len(digest) - 1]}-{digest}"
