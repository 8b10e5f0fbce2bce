"""The strategy registry: stable keys mapped to a parameter model, a class, a tier and a summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from peak_trade.core.errors import ConfigError, did_you_mean
from peak_trade.core.peak_config import PeakConfig, describe_validation_error
from peak_trade.core.strategy_params import StrategyParams
from peak_trade.strategies.base import Strategy
from peak_trade.strategies.bollinger_bands import BollingerBandsStrategy
from peak_trade.strategies.breakout import BreakoutStrategy
from peak_trade.strategies.ma_crossover import MACrossoverStrategy
from peak_trade.strategies.macd import MACDStrategy
from peak_trade.strategies.mean_reversion import MeanReversionStrategy
from peak_trade.strategies.momentum import MomentumStrategy
from peak_trade.strategies.rsi_reversion import RsiReversionStrategy
from peak_trade.strategies.trend_following import TrendFollowingStrategy

__all__ = [
    "StrategySpec",
    "Tier",
    "create_strategy",
    "create_strategy_from_config",
    "find_strategy_spec",
    "get_available_strategy_keys",
    "get_strategy_spec",
    "list_strategy_specs",
    "register_strategy",
]

Tier = Literal["core", "aux", "legacy", "user"]


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One registered strategy: its key, class, tier and one-line description."""

    key: str
    cls: type[Strategy[Any]]
    tier: Tier
    description: str
    source: str | None = None  # the file of a user strategy

    @property
    def config_section(self) -> str:
        """Return the config table that holds its parameters."""
        return f"strategy.{self.key}"

    @property
    def params_type(self) -> type[StrategyParams]:
        """Return the parameter model of the strategy."""
        return self.cls.params_type


_REGISTRY: dict[str, StrategySpec] = {}


def register_strategy(
    cls: type[Strategy[Any]], tier: Tier, source: str | None = None
) -> StrategySpec:
    """Register a strategy class under its `key` (from the file `source`, for a user's); a
    key registered twice raises ValueError."""
    if cls.key in _REGISTRY:
        raise ValueError(f"strategy key {cls.key!r} is already registered")
    spec = StrategySpec(cls.key, cls, tier, cls.description, source)
    _REGISTRY[cls.key] = spec
    return spec


def get_available_strategy_keys() -> list[str]:
    """Return the registered keys, sorted."""
    return sorted(_REGISTRY)


def list_strategy_specs() -> list[StrategySpec]:
    """Return every spec, sorted by key."""
    return [_REGISTRY[key] for key in get_available_strategy_keys()]


def find_strategy_spec(key: str) -> StrategySpec | None:
    """Return the spec for `key`, or None when no strategy is registered under it."""
    return _REGISTRY.get(key)


def get_strategy_spec(key: str) -> StrategySpec:
    """Return the spec for `key`, or raise ConfigError listing the keys with a hint."""
    spec = _REGISTRY.get(key)
    if spec is None:
        raise ConfigError(
            f"unknown strategy {key!r}{did_you_mean(key, _REGISTRY)} "
            f"(available: {', '.join(get_available_strategy_keys())})"
        )
    return spec


def _configured(spec: StrategySpec, cfg: PeakConfig) -> dict[str, Any]:
    """Return the parameters `[strategy.<key>]` sets for `spec` (only those set)."""
    tables = cfg.strategy.model_extra or {}
    for name in tables:  # a user strategy's table: its file must be loaded
        if name not in _REGISTRY:
            raise ConfigError(
                f"[strategy.{name}] names no strategy{did_you_mean(name, _REGISTRY)}; a user "
                "strategy's table needs its file loaded (--strategy-path or [strategies] paths)"
            )
    if spec.tier == "user":
        table = tables.get(spec.key, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[strategy.{spec.key}] must be a table of parameters")
        return dict(table)
    params: StrategyParams = getattr(cfg.strategy, spec.key)
    return params.model_dump(exclude_unset=True)


def create_strategy_from_config(key: str, cfg: PeakConfig) -> Strategy[Any]:
    """Build strategy `key` with the parameters of `[strategy.<key>]` in `cfg`."""
    return create_strategy(key, None, cfg)


def create_strategy(
    key: str, overrides: Mapping[str, Any] | None = None, cfg: PeakConfig | None = None
) -> Strategy[Any]:
    """Build strategy `key` from the config's parameters with `overrides` applied and validated."""
    spec = get_strategy_spec(key)
    merged = {**_configured(spec, cfg or PeakConfig.default()), **(overrides or {})}
    try:
        params = spec.params_type.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=spec.config_section)) from None
    return spec.cls(params)


for _cls, _tier in (
    (MACrossoverStrategy, "core"),
    (RsiReversionStrategy, "core"),
    (BollingerBandsStrategy, "core"),
    (BreakoutStrategy, "aux"),
    (MACDStrategy, "aux"),
    (MomentumStrategy, "aux"),
    (TrendFollowingStrategy, "aux"),
    (MeanReversionStrategy, "aux"),
):
    register_strategy(_cls, _tier)  # type: ignore[arg-type]
