"""The settings a run trades with, besides its session config: the `[live_risk]` and strategy
sections it journals at its start (and is replayed under), and the engine settings its session
config asks for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from peak_trade.core.errors import ConfigError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.money import to_decimal
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Instrument
from peak_trade.execution.journal import to_json
from peak_trade.execution.session_config import LiveSessionConfig
from peak_trade.execution.wiring import EngineSettings
from peak_trade.orders.shadow import FillPrice
from peak_trade.strategies.base import Strategy

__all__ = [
    "check_bars",
    "check_warmup",
    "engine_settings",
    "settings_changes",
    "trading_settings",
    "with_settings",
]


def trading_settings(cfg: PeakConfig, strategy_key: str) -> dict[str, Any]:
    """Return the config sections that decide a run's trades besides its session config:
    `[live_risk]` and the strategy's parameters, as the journal holds them (JSON values)."""
    settings = {
        "live_risk": cfg.get("live_risk", {}),
        f"strategy.{strategy_key}": cfg.get(f"strategy.{strategy_key}", {}),
    }
    loaded: dict[str, Any] = json.loads(to_json(settings))
    return loaded


def with_settings(cfg: PeakConfig, settings: Mapping[str, Any]) -> PeakConfig:
    """Return `cfg` with the sections in `settings` (as `trading_settings` gives them)."""
    data = cfg.root.model_dump(mode="json")
    for name, values in settings.items():
        section, _, key = name.partition(".")
        if key:
            data[section][key] = values
        else:
            data[section] = values
    return PeakConfig.from_mapping(data, path=cfg.path)


def settings_changes(then: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """Return the settings that differ, as "[section] key was → is" ("" if none, or if the
    run's settings were not journaled)."""
    if not then:
        return ""
    changes = []
    for section in sorted(set(then) | set(now)):
        old, new = then.get(section) or {}, now.get(section) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                changes.append(f"[{section}] {key} {old.get(key)!r} → {new.get(key)!r}")
    return ", ".join(changes)


def check_bars(config: LiveSessionConfig) -> None:
    """Refuse a count of synthetic bars that the warmup would take all of."""
    bars, warmup = config.synthetic_bars, config.warmup_candles
    if config.data_source == "synthetic" and bars is not None and bars <= warmup:
        raise ConfigError(
            f"{bars} synthetic bars leave none to trade after the warmup of {warmup} (the bars "
            f"include the warmup); use --bars {warmup + 1} or more"
        )


def check_warmup(config: LiveSessionConfig, strategy: Strategy[Any]) -> None:
    """Refuse a warmup too short for the strategy, or one that takes every synthetic bar."""
    check_bars(config)
    if config.warmup_candles < strategy.required_bars:
        raise ConfigError(
            f"warmup_candles {config.warmup_candles} is fewer than the {strategy.required_bars} "
            f"bars {config.strategy_key} needs before it can act; use --warmup-candles "
            f"{strategy.required_bars} or more"
        )


_FILL_PRICES: dict[str, FillPrice] = {"next_open": "next_open", "close": "close", "book": "book"}


def engine_settings(config: LiveSessionConfig) -> EngineSettings:
    """Return the engine settings a session config asks for."""
    return EngineSettings(
        mode=TradingEnvironment(config.mode),
        instrument=Instrument.default_for(config.symbol),
        start_balance=to_decimal(config.start_balance),
        position_fraction=to_decimal(config.position_fraction),
        fee_rate=to_decimal(config.fee_rate),
        slippage_bps=to_decimal(config.slippage_bps),
        fill_price=_FILL_PRICES[config.fill_price],
        allow_short=config.allow_short,
        enable_risk_limits=config.enable_risk_limits,
    )
