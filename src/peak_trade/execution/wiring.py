"""The one place that picks concrete classes: venue, guard, limits and engine for a mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Instrument
from peak_trade.execution.engine import TradingEngine
from peak_trade.execution.pipeline import ExecutionPipeline
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.live.risk_rules import RiskLimitsConfig
from peak_trade.live.safety import SafetyAuditEntry, SafetyGuard
from peak_trade.orders.shadow import FillPrice, ShadowOrderExecutor
from peak_trade.orders.sizing import SizingRules
from peak_trade.portfolio.ledger import Ledger
from peak_trade.strategies.base import Strategy

__all__ = ["EngineSettings", "build_engine"]


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
    strategy: Strategy[Any],
    settings: EngineSettings,
    cfg: PeakConfig,
    audit_sink: Callable[[SafetyAuditEntry], None] | None = None,
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
    guard = SafetyGuard(settings.mode, sink=audit_sink)
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
