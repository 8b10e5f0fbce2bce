"""One Kraken pair: its id and exchange rules, looked up once, when first needed."""

from __future__ import annotations

from peak_trade.core.types import Instrument
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.parsing import find_pair, instrument_from_pair

__all__ = ["KrakenMarket"]


class KrakenMarket:
    """Resolve "BASE/QUOTE" to Kraken's pair id and rules on first use (no I/O before)."""

    def __init__(self, client: KrakenClient, symbol: str) -> None:
        self.client = client
        self.symbol = symbol
        self._pair_id: str | None = None
        self._instrument: Instrument | None = None

    @property
    def pair_id(self) -> str:
        """Return Kraken's id of the pair, e.g. XXBTZEUR for BTC/EUR."""
        return self._resolve()[0]

    @property
    def instrument(self) -> Instrument:
        """Return the pair's precision and minimum order size and cost, from AssetPairs."""
        return self._resolve()[1]

    def _resolve(self) -> tuple[str, Instrument]:
        if self._pair_id is None or self._instrument is None:
            pair_id, info = find_pair(self.client.asset_pairs(), self.symbol)
            self._instrument = instrument_from_pair(self.symbol, info)
            self._pair_id = pair_id
        return self._pair_id, self._instrument
