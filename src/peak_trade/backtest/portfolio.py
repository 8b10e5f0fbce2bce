"""Portfolio backtests: several legs over their own bars, from one account.

Each leg's bars come from its own source: a synthetic market per symbol (`portfolio_market`:
distinct, deterministic, correlated), or a candle file per leg. The legs' bars are merged by
bar time; the `PortfolioEngine` works the bars of each time together, and a leg with no bar at
a time waits. Each leg's first `warmup_candles` bars warm its strategy up.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import ConfigError
from peak_trade.core.legs import Leg
from peak_trade.core.money import to_decimal
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.timerange import parse_timerange
from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.synthetic import portfolio_market
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.portfolio import AccountRow, LegOutcome, PortfolioEngine
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.wiring import (
    build_engine,
    check_warmup,
    engine_settings,
    limits_from,
)
from peak_trade.strategies.registry import create_strategy

__all__ = ["PortfolioBacktest", "leg_config"]


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


@dataclass
class PortfolioBacktest:
    """The legs of a run, the engine that trades them and each leg's bars."""

    config: LiveSessionConfig
    legs: list[Leg]
    engine: PortfolioEngine
    sources: list[Iterator[BarColumns]]
    on_time: Callable[[list[LegOutcome], AccountRow, tuple[int, ...]], None] | None = None
    bar_times: int = field(default=0, init=False)

    @classmethod
    def build(cls, config: LiveSessionConfig, cfg: PeakConfig, legs: Sequence[Leg]) -> Any:
        """Build strategies, rules, venues and the account for `legs` (weights set)."""
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
        risk = None
        if config.enable_risk_limits:
            limits, switch = limits_from(cfg.live_risk)
            if limits.enabled and limits.base_currency.upper() != first.instrument.quote:
                raise ConfigError(
                    f"live_risk.base_currency is {limits.base_currency!r}, but the legs are "
                    f"priced in {first.instrument.quote}; set base_currency = "
                    f"{first.instrument.quote!r}"
                )
            risk = LiveRiskLimits(limits, kill_switch=switch)
        engines = []
        for leg, leg_cfg, leg_settings in zip(legs, configs, settings, strict=True):
            strategy = create_strategy(leg.strategy, leg.params, cfg)
            check_warmup(leg_cfg, strategy)
            engines.append(build_engine(strategy, leg_settings, cfg, account=(ledger, risk)))
        decimals = [s.instrument.price_decimals for s in settings]
        sources = [_bars_of(c, d) for c, d in zip(configs, decimals, strict=True)]
        return cls(config, list(legs), PortfolioEngine(engines), sources)

    @property
    def ledger(self) -> Ledger:
        """Return the account's ledger."""
        return self.engine.ledger

    @property
    def risk(self) -> LiveRiskLimits | None:
        """Return the account's risk limits (None: run without them)."""
        return self.engine.legs[0].pipeline.risk_limits

    @property
    def leg_engines(self) -> tuple[TradingEngine, ...]:
        """Return each leg's engine, in leg order."""
        return self.engine.legs

    def run(self) -> None:
        """Warm every leg up, then trade the legs' bars to the end of the shortest wait."""
        warmup = self.config.warmup_candles
        streams = [_bars(source) for source in self.sources]
        history = {i: list(itertools.islice(stream, warmup)) for i, stream in enumerate(streams)}
        self.engine.warm_up(history)
        merged = heapq.merge(*(_timed(i, stream) for i, stream in enumerate(streams)))
        for _, group in itertools.groupby(merged, key=lambda item: item[0]):
            bars = {i: bar for _, i, bar in group}
            outcomes = self.engine.step(bars)
            self.bar_times += 1
            if self.on_time is not None:
                self.on_time(outcomes, self._row(next(iter(bars.values()))), tuple(bars))

    def _row(self, bar: Bar) -> AccountRow:
        ledger = self.ledger
        equity = ledger.equity
        positions = tuple(ledger.position(leg.symbol) for leg in self.leg_engines)
        seconds = int(bar.time.timestamp())
        return AccountRow(seconds, equity, ledger.peak_equity - equity, positions)


def _timed(leg: int, bars: Iterator[Bar]) -> Iterator[tuple[datetime, int, Bar]]:
    """Return a leg's bars keyed by (time, leg), the order they are merged in."""
    return ((bar.time, leg, bar) for bar in bars)


def _bars(source: Iterator[BarColumns]) -> Iterator[Bar]:
    for chunk in source:
        yield from chunk.bars()


def _bars_of(config: LiveSessionConfig, price_decimals: int) -> Iterator[BarColumns]:
    """Return the bars of one leg: its synthetic market, or its candle file."""
    timeframe = Timeframe(config.timeframe)
    if config.data_source == "synthetic":
        market = portfolio_market(
            config.symbol, timeframe, config.seed, config.synthetic_bars, price_decimals
        )
        return market.chunks()
    if config.data_source == "replay" and config.data_path:
        from peak_trade.data.candle_files import read_meta  # pandas: only for a file
        from peak_trade.data.replay import load_replay

        meta = read_meta(Path(config.data_path))
        if meta is not None and (meta.symbol, meta.timeframe) != (config.symbol, timeframe.name):
            raise ConfigError(
                f"{config.data_path} holds {meta.symbol} {meta.timeframe} candles, but its leg "
                f"trades {config.symbol} {timeframe.name}"
            )
        data = load_replay(Path(config.data_path), timeframe)
        data.check_price_step(config.symbol, price_decimals)
        span = None if config.timerange is None else parse_timerange(config.timerange)
        return data.within(span).chunks()
    raise ConfigError(
        f"a portfolio backtest reads synthetic bars or one candle file per leg, not "
        f"{config.data_source}"
    )
