"""The compiled backtest loop: whole batches of bars in exact integer money, failing closed."""
