"""Portfolio runs: several legs, each a strategy on its own symbol, trading one account.

How a portfolio run is built from its config and legs (`build_portfolio`): each leg's engine
(its strategy, its weighted sizing rules, venue and pipeline) shares one ledger and one
`LiveRiskLimits`; each leg reads its own feed: a synthetic market per symbol
(`portfolio_market`: distinct, deterministic, correlated), a candle file per leg, or its
Kraken pair (the legs share one client).

The journal holds a portfolio run as the run itself (`run_started` with the legs, the trading
state, `run_stopped`) and one run per leg, `RUN.legN` (`leg_run_id`): its warmup, bars,
orders, denials and fills, exactly as a single strategy's run journals them. The bars of each
leg carry the account's cash and equity and the leg's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peak_trade.core.clock import Clock
from peak_trade.core.errors import ConfigError
from peak_trade.core.legs import Leg
from peak_trade.core.money import to_decimal
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.data.ports import CandleFeed, IteratorFeed
from peak_trade.data.synthetic import portfolio_market
from peak_trade.engine.portfolio import PortfolioEngine
from peak_trade.journal.schema import LEGS_KEY
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.settings import trading_settings
from peak_trade.session.wiring import (
    build_engine,
    build_feed,
    check_warmup,
    engine_settings,
    kraken_market,
    limits_from,
)
from peak_trade.strategies.registry import create_strategy

if TYPE_CHECKING:
    from peak_trade.kraken.market import KrakenMarket

__all__ = [
    "build_portfolio",
    "journaled_legs",
    "leg_config",
    "portfolio_engine",
    "portfolio_settings",
]


def leg_config(config: LiveSessionConfig, leg: Leg) -> LiveSessionConfig:
    """Return the session config of one leg: the run's, with the leg's strategy, symbol,
    timeframe, data file and weighted position fraction."""
    weight = leg.weight if leg.weight is not None else Decimal(1)
    fraction = to_decimal(config.position_fraction) * weight
    return LiveSessionConfig(
        **(
            config.to_dict()
            | {
                "strategy_key": leg.strategy,
                "symbol": leg.symbol,
                "timeframe": leg.timeframe or config.timeframe,
                "data_path": leg.data_path or config.data_path,
                "position_fraction": float(fraction),
            }
        )
    )


def journaled_legs(started: dict[str, Any]) -> tuple[LiveSessionConfig, list[Leg]]:
    """Return the run config and the legs a portfolio's `run_started` payload holds."""
    journaled = dict(started["config"])
    legs = [Leg.from_dict(leg) for leg in journaled.pop(LEGS_KEY)]
    fields = LiveSessionConfig.__dataclass_fields__
    return LiveSessionConfig(**{k: v for k, v in journaled.items() if k in fields}), legs


def portfolio_settings(cfg: PeakConfig, legs: Sequence[Leg]) -> dict[str, Any]:
    """Return the config sections that decide a portfolio's trades: `[live_risk]` and each
    leg's strategy parameters (as `trading_settings` gives them for one)."""
    settings: dict[str, Any] = {}
    for leg in legs:
        settings |= trading_settings(cfg, leg.strategy)
    return settings


def build_portfolio(
    config: LiveSessionConfig, cfg: PeakConfig, legs: Sequence[Leg], clock: Clock | None = None
) -> tuple[PortfolioEngine, list[CandleFeed]]:
    """Build each leg's engine on one account, and each leg's feed (no network yet). On
    Kraken, the legs share one client, so their requests keep to its public rate."""
    markets = _markets(config, cfg, legs)
    engine = portfolio_engine(config, cfg, legs, markets)
    feeds = [
        _feed(leg_config(config, leg), engine.legs[i].price_decimals, markets[i], cfg, clock)
        for i, leg in enumerate(legs)
    ]
    return engine, feeds


def _markets(
    config: LiveSessionConfig, cfg: PeakConfig, legs: Sequence[Leg]
) -> list[KrakenMarket | None]:
    """Return each leg's Kraken pair (one client for all), or None off Kraken."""
    if config.data_source != "kraken" and config.mode != "testnet":
        return [None] * len(legs)
    from peak_trade.kraken.market import KrakenMarket  # ccxt: only for Kraken

    first = kraken_market(cfg, legs[0].symbol, with_keys=config.mode == "testnet")
    return [first, *(KrakenMarket(first.client, leg.symbol) for leg in legs[1:])]


def portfolio_engine(
    config: LiveSessionConfig,
    cfg: PeakConfig,
    legs: Sequence[Leg],
    markets: Sequence[KrakenMarket | None] | None = None,
) -> PortfolioEngine:
    """Build each leg's engine (strategy, weighted sizing, venue, pipeline) on one account:
    one ledger and one `LiveRiskLimits` (the account's quote currency must be every leg's)."""
    configs = [leg_config(config, leg) for leg in legs]
    settings = [engine_settings(c, cfg) for c in configs]
    quotes = {s.instrument.quote for s in settings}
    if len(quotes) > 1:
        raise ConfigError(
            f"the legs are priced in {', '.join(sorted(quotes))}; one account holds one "
            "currency, so every leg's symbol must have the same quote"
        )
    first = settings[0]
    ledger = Ledger(first.start_balance, currency=first.instrument.quote)
    risk = _risk(config, cfg, first.instrument.quote)
    engines = []
    pairs = markets or [None] * len(legs)
    for leg, leg_cfg, leg_settings, market in zip(legs, configs, settings, pairs, strict=True):
        strategy = create_strategy(leg.strategy, leg.params, cfg)
        check_warmup(leg_cfg, strategy)
        account = (ledger, risk)
        engines.append(build_engine(strategy, leg_settings, cfg, market, account=account))
    return PortfolioEngine(engines)


def _risk(config: LiveSessionConfig, cfg: PeakConfig, quote: str) -> LiveRiskLimits | None:
    if not config.enable_risk_limits:
        return None
    limits, switch = limits_from(cfg.live_risk)
    if limits.enabled and limits.base_currency.upper() != quote:
        raise ConfigError(
            f"live_risk.base_currency is {limits.base_currency!r}, but the legs are priced in "
            f"{quote}; set base_currency = {quote!r}"
        )
    return LiveRiskLimits(limits, kill_switch=switch)


def _feed(
    config: LiveSessionConfig,
    price_decimals: int,
    market: KrakenMarket | None,
    cfg: PeakConfig,
    clock: Clock | None,
) -> CandleFeed:
    """Return the feed of one leg: its synthetic market, its candle file, or Kraken."""
    timeframe = Timeframe(config.timeframe)
    if config.data_source == "synthetic":
        bars = config.synthetic_bars
        market_ = portfolio_market(config.symbol, timeframe, config.seed, bars, price_decimals)
        source = f"synthetic {config.symbol} market (seed {config.seed})"
        return IteratorFeed(config.symbol, timeframe, market_.chunks(), source=source, length=bars)
    if config.data_source == "kraken":
        return build_feed("kraken", config.symbol, timeframe, market=market, cfg=cfg, clock=clock)
    if config.data_path:
        from peak_trade.data.candle_files import read_meta  # pandas: only for a file

        meta = read_meta(Path(config.data_path))
        if meta is not None and (meta.symbol, meta.timeframe) != (config.symbol, timeframe.name):
            raise ConfigError(
                f"{config.data_path} holds {meta.symbol} {meta.timeframe} candles, but its leg "
                f"trades {config.symbol} {timeframe.name}"
            )
    return build_feed(
        "replay",
        config.symbol,
        timeframe,
        data_path=config.data_path,
        timerange=config.timerange,
        price_decimals=price_decimals,
    )
