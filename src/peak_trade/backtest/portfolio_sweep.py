"""Sweeps over a portfolio: each grid point is the portfolio with some legs' parameters set.

A grid name is `LEG.PARAMETER`, LEG being a leg's strategy key (when one leg has it) or its
name `STRATEGY:SYMBOL`: `--grid rsi_reversion.lower=20,25,30`. Every point is validated as
its legs' strategies before any work starts; each runs as a portfolio backtest without a
journal, its statistics those of the account.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from peak_trade.core.clock import ManualClock
from peak_trade.core.errors import ConfigError, did_you_mean
from peak_trade.core.legs import Leg
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.report.portfolio import PortfolioLog
from peak_trade.session.config import LiveSessionConfig, run_id_from
from peak_trade.session.portfolio_run import PortfolioRun
from peak_trade.strategies.registry import create_strategy

__all__ = ["leg_parameters", "portfolio_points", "run_portfolio_point", "trading_state"]


def leg_parameters(legs: Sequence[Leg], names: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Return the leg (its place) and the parameter each grid name sets."""
    keys: dict[str, list[int]] = {}
    for i, leg in enumerate(legs):
        keys.setdefault(leg.strategy, []).append(i)
        keys.setdefault(leg.name, []).append(i)
    found: dict[str, tuple[int, str]] = {}
    for name in names:
        key, dot, parameter = name.rpartition(".")
        if not dot or not key or not parameter:
            raise ConfigError(
                f"--grid {name}: a portfolio's grid names LEG.PARAMETER, e.g. "
                f"{legs[0].strategy}.{parameter or 'window'}"
            )
        places = keys.get(key)
        if places is None:
            raise ConfigError(
                f"--grid {name}: no leg {key!r}{did_you_mean(key, keys)} "
                f"(legs: {', '.join(leg.name for leg in legs)})"
            )
        if len(places) > 1:
            raise ConfigError(
                f"--grid {name}: {len(places)} legs run {key}; name one as STRATEGY:SYMBOL, "
                f"e.g. {legs[places[0]].name}.{parameter}"
            )
        found[name] = (places[0], parameter)
    return found


def portfolio_points(
    legs: Sequence[Leg], grid: dict[str, list[Any]], cfg: PeakConfig
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], int]:
    """Return each grid point, its legs (as `Leg.to_dict` gives them) and the warmup the
    slowest strategy of any point needs; a ConfigError before any work."""
    targets = leg_parameters(legs, list(grid))
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    every: list[list[dict[str, Any]]] = []
    needed = 0
    for point in points:
        params = [dict(leg.params) for leg in legs]
        for name, value in point.items():
            place, parameter = targets[name]
            params[place][parameter] = value
        point_legs = [
            Leg(leg.strategy, leg.symbol, leg.timeframe, leg.weight, leg.data_path, params[i])
            for i, leg in enumerate(legs)
        ]
        for chosen in point_legs:
            strategy = create_strategy(chosen.strategy, chosen.params, cfg)
            needed = max(needed, strategy.required_bars)
        every.append([leg.to_dict() for leg in point_legs])
    return points, every, needed


def run_portfolio_point(
    index: int,
    params: dict[str, Any],
    legs: Sequence[dict[str, Any]],
    config: dict[str, Any],
    session: dict[str, Any],
) -> dict[str, Any]:
    """Run one grid point's portfolio backtest and return its parameters and statistics."""
    point = "_".join(f"{name}-{value}" for name, value in params.items())
    run_config = LiveSessionConfig(**(session | {"run_id": run_id_from(f"sweep_{point}")}))
    cfg = PeakConfig.from_mapping(config)
    chosen = [Leg.from_dict(leg) for leg in legs]
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    run = PortfolioRun.start(run_config, cfg, chosen, clock=clock, journal=None, backtest=True)
    year = Timeframe(run_config.timeframe).bars_per_year()
    log = PortfolioLog(chosen, PerformanceStats(run_config.start_balance, year))
    run.on_time, run.on_quiet = log.on_time, log.on_quiet
    run.warmup()
    run.run()
    return {
        "index": index,
        **params,
        **log.stats.result(),
        "final_equity": float(run.engine.ledger.equity),
        **trading_state(run.risk),
    }


def trading_state(risk: LiveRiskLimits | None) -> dict[str, str]:
    """Return where a point's trading state ended and when it first left ACTIVE ("" if it
    never did, or without risk limits): a point that went reduce-only stopped trading there,
    and its figures rank a rule cut short."""
    if risk is None:
        return {"trading_state": "off", "left_active_at": ""}
    return {"trading_state": risk.state.value, "left_active_at": risk.left_active() or ""}
