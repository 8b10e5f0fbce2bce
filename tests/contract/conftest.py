"""The loopback Kraken emulator, so that its feed and its testnet venue are held to the same
contracts as the rest."""

from tests.integration.conftest import kraken

__all__ = ["kraken"]
