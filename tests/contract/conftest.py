"""The loopback Kraken emulator, so that its feed is held to the same contract as the rest."""

from tests.integration.conftest import kraken

__all__ = ["kraken"]
