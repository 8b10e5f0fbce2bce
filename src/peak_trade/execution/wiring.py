"""The one place that picks concrete classes: venue, guard, limits and engine for a mode."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Instrument, Timeframe
from peak_trade.data.ports import CandleFeed
from peak_trade.data.replay import replay_feed
from peak_trade.data.synthetic import synthetic_feed
from peak_trade.execution.engine import TradingEngine
from peak_trade.execution.pipeline import ExecutionPipeline
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.live.risk_rules import RiskLimitsConfig
from peak_trade.live.safety import SafetyGuard
from peak_trade.orders.shadow import FillPrice, ShadowOrderExecutor
from peak_trade.orders.sizing import SizingRules
from peak_trade.portfolio.ledger import Ledger
from peak_trade.strategies.base import Strategy

__all__ = ["EngineSettings", "build_engine", "build_feed"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """What the engine needs beyond the config file."""

    mode: TradingEnvironment
    instrument: Instrument
    start_balance: Decimal
    position_fraction: Decimal
    fee_rate: Decimal
    slippage_bps: Decimal
    fill_price: FillPrice = "next_open"
    allow_short: bool = False
    enable_risk_limits: bool = True


def build_engine(
    strategy: Strategy[Any], settings: EngineSettings, cfg: PeakConfig
) -> TradingEngine:
    """Assemble ledger, venue, SafetyGuard, LiveRiskLimits, pipeline and engine for a mode."""
    if settings.mode is TradingEnvironment.LIVE:
        raise LiveModeNotAllowedError(
            "mode 'live' is not allowed; Peak Trade never sends real orders"
        )
    if settings.mode is TradingEnvironment.TESTNET:
        raise ConfigError(
            "mode 'testnet' needs the Kraken validate-only venue, which is not "
            "available yet; use mode 'shadow'"
        )
    ledger = Ledger(settings.start_balance, currency=settings.instrument.quote)
    venue = ShadowOrderExecutor(
        settings.instrument,
        ledger,
        settings.fee_rate,
        settings.slippage_bps,
        settings.fill_price,
        settings.allow_short,
    )
    guard = SafetyGuard(settings.mode)
    risk = _risk_limits(cfg) if settings.enable_risk_limits else None
    pipeline = ExecutionPipeline(venue, settings.mode, guard, risk)
    rules = SizingRules(
        settings.instrument,
        settings.position_fraction,
        settings.allow_short,
        settings.fee_rate,
        settings.slippage_bps,
    )
    return TradingEngine(strategy, pipeline, ledger, rules)


def _risk_limits(cfg: PeakConfig) -> LiveRiskLimits:
    config = RiskLimitsConfig.from_section(cfg.live_risk)
    kill_switch = None
    if config.kill_switch_file:
        path = Path(config.kill_switch_file)
        kill_switch = path.exists
    return LiveRiskLimits(config, kill_switch=kill_switch)


def build_feed(
    source: str, symbol: str, timeframe: Timeframe, *, seed: int = 7, data_path: str | None = None
) -> CandleFeed:
    """Return the candle feed of a session: synthetic, replay or Kraken."""
    if source == "synthetic":
        return synthetic_feed(symbol, timeframe, seed=seed)
    if source == "replay":
        if not data_path:
            raise ConfigError("--data replay needs --data-path FILE (a CSV or Parquet file)")
        return replay_feed(data_path, symbol, timeframe)
    if source == "kraken":
        raise ConfigError(
            "the Kraken feed is not available in this version; use --data synthetic or "
            "--data replay --data-path FILE"
        )
    raise ConfigError(f"unknown data source {source!r}: expected synthetic, replay or kraken")
