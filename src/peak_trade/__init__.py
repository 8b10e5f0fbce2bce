"""Peak Trade: run a trading strategy from backtest to safe shadow and testnet execution."""

__version__ = "0.1.0"
