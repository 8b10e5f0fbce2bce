"""Accounting: the ledger of cash, positions, PnL, fees and drawdown."""
