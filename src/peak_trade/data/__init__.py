"""Candle feeds: one port, offline (synthetic, replay) and exchange implementations."""
