"""Kraken adapter: parsing of Kraken's answers, the guarded ccxt client and the nonce store."""
