"""Strategies: incremental indicators, the strategy contract, the built-ins and their registry."""
