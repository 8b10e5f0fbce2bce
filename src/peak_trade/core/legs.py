"""Legs: what a portfolio run trades, each a strategy on a symbol, from one account.

A leg is given on the command line as `STRATEGY:SYMBOL[:TIMEFRAME]` (its parameters then come
from `[strategy.<key>]` in the config) or as a `[[leg]]` table of a portfolio file:

    [[leg]]
    strategy = "rsi_reversion"
    symbol = "ETH/EUR"
    timeframe = "15m"           # optional: the run's timeframe
    weight = 0.4                # optional: the weights not given share what is left equally
    data_path = "eth_15m.csv"   # optional: a replay run's candle file for this leg
    params = { lower = 25 }     # optional: over [strategy.rsi_reversion]

Weights are shares of `position_fraction x equity`; together they may not exceed 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from peak_trade.core.errors import ConfigError, did_you_mean
from peak_trade.core.money import ZERO, to_decimal, trimmed
from peak_trade.core.peak_config import describe_validation_error
from peak_trade.core.types import TIMEFRAMES, parse_symbol

__all__ = ["MAX_LEGS", "Leg", "LegTable", "legs_from_tables", "parse_leg", "with_weights"]

# Kraken allows about one public request a second: more legs than this could not all be
# polled within a minute bar.
MAX_LEGS: Final = 20
_ONE = Decimal(1)
_SHARE_STEP = Decimal("1E-6")  # equal shares are cut to millionths, so they sum to <= 1


@dataclass(frozen=True, slots=True)
class Leg:
    """One strategy trading one symbol of the account; `weight` None: an equal share."""

    strategy: str
    symbol: str
    timeframe: str | None = None
    weight: Decimal | None = None
    data_path: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Return how the leg is called in messages and reports: `strategy:SYMBOL`."""
        return f"{self.strategy}:{self.symbol}"

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> Leg:
        """Return the leg `to_dict` wrote (a journaled run's)."""
        weight = fields.get("weight")
        return cls(
            fields["strategy"],
            fields["symbol"],
            fields.get("timeframe"),
            None if weight is None else Decimal(str(weight)),
            fields.get("data_path"),
            dict(fields.get("params") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the leg as journal and report fields."""
        return {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "weight": None if self.weight is None else trimmed(self.weight),
            "data_path": self.data_path,
            "params": dict(self.params),
        }


def _checked_symbol(symbol: str, where: str) -> str:
    try:
        base, quote = parse_symbol(symbol)
    except ConfigError:
        raise ConfigError(
            f"{where}: invalid symbol {symbol!r}: expected BASE/QUOTE, e.g. BTC/EUR"
        ) from None
    return f"{base}/{quote}"


def _checked_timeframe(timeframe: str | None, where: str) -> str | None:
    if timeframe is not None and timeframe not in TIMEFRAMES:
        raise ConfigError(
            f"{where}: invalid timeframe {timeframe!r}: expected one of {', '.join(TIMEFRAMES)}"
            + did_you_mean(timeframe, TIMEFRAMES)
        )
    return timeframe


def parse_leg(text: str) -> Leg:
    """Return the leg of a `--leg STRATEGY:SYMBOL[:TIMEFRAME]` argument."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(
            f"--leg {text!r}: expected STRATEGY:SYMBOL or STRATEGY:SYMBOL:TIMEFRAME, "
            "e.g. ma_crossover:BTC/EUR"
        )
    where = f"--leg {text}"
    timeframe = _checked_timeframe(parts[2] if len(parts) == 3 else None, where)
    return Leg(parts[0], _checked_symbol(parts[1], where), timeframe)


class LegTable(BaseModel):
    """A `[[leg]]` table of a portfolio file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str
    symbol: str
    timeframe: str | None = None
    weight: float | None = None
    data_path: str | None = None
    params: dict[str, Any] = {}


class _PortfolioFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    leg: list[LegTable]


def legs_from_tables(data: Mapping[str, Any], source: str) -> list[Leg]:
    """Return the legs of a portfolio file's parsed TOML (`source` names it in errors)."""
    try:
        tables = _PortfolioFile.model_validate(data).leg
    except ValidationError as error:
        raise ConfigError(f"portfolio file {source}: {describe_validation_error(error)}") from None
    legs = []
    for number, table in enumerate(tables, start=1):
        where = f"{source} leg {number}"
        weight = None if table.weight is None else to_decimal(table.weight)
        legs.append(
            Leg(
                table.strategy,
                _checked_symbol(table.symbol, where),
                _checked_timeframe(table.timeframe, where),
                weight,
                table.data_path,
                dict(table.params),
            )
        )
    return legs


def with_weights(legs: Sequence[Leg]) -> list[Leg]:
    """Check a portfolio's legs and return them with every weight set: those not given share
    what the given ones leave equally. Two legs may not trade one symbol (each symbol has one
    position in the account)."""
    if not legs:
        raise ConfigError("a portfolio needs at least one leg")
    if len(legs) > MAX_LEGS:
        raise ConfigError(f"a portfolio may have at most {MAX_LEGS} legs, was given {len(legs)}")
    seen: dict[str, Leg] = {}
    for leg in legs:
        other = seen.setdefault(leg.symbol, leg)
        if other is not leg:
            raise ConfigError(
                f"legs {other.name} and {leg.name} both trade {leg.symbol}; the account holds one "
                "position per symbol, so each symbol may have one leg"
            )
        if leg.weight is not None and not ZERO < leg.weight <= _ONE:
            raise ConfigError(f"leg {leg.name}: weight must be in (0, 1], was {leg.weight}")
    given = sum((leg.weight for leg in legs if leg.weight is not None), ZERO)
    if given > _ONE:
        raise ConfigError(f"the legs' weights add up to {given}; together they may be at most 1")
    open_legs = [leg for leg in legs if leg.weight is None]
    if open_legs and given >= _ONE:
        names = ", ".join(leg.name for leg in open_legs)
        raise ConfigError(f"the weights given add up to 1, leaving nothing for {names}")
    share = (_ONE - given) / len(open_legs) if open_legs else ZERO
    share = share.quantize(_SHARE_STEP, rounding=ROUND_DOWN)
    return [
        leg
        if leg.weight is not None
        else Leg(leg.strategy, leg.symbol, leg.timeframe, share, leg.data_path, leg.params)
        for leg in legs
    ]
