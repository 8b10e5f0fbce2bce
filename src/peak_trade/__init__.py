"""Peak Trade: run a trading strategy from backtest to safe shadow and testnet execution.

A strategy of one's own subclasses `peak_trade.Strategy` (see docs/strategies.md); its
parameters, if any, are a `peak_trade.StrategyParams` model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peak_trade.core.version import __version__

__all__ = ["FLAT", "LONG", "SHORT", "Strategy", "StrategyParams", "__version__"]

if TYPE_CHECKING:
    from peak_trade.core.strategy_params import StrategyParams
    from peak_trade.strategies.base import FLAT, LONG, SHORT, Strategy


def __getattr__(name: str) -> Any:
    """Import the strategy contract on first use: `import peak_trade` stays light."""
    if name == "StrategyParams":
        from peak_trade.core.strategy_params import StrategyParams

        return StrategyParams
    if name in ("Strategy", "LONG", "FLAT", "SHORT"):
        from peak_trade.strategies import base

        return getattr(base, name)
    raise AttributeError(f"module 'peak_trade' has no attribute {name!r}")
