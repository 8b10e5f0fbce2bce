"""Read the bars a backtest's journal refers to again, by the identity it journaled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.data.synthetic import open_synthetic

__all__ = ["open_reference"]


def open_reference(identity: Mapping[str, Any]) -> Iterator[BarColumns]:
    """Yield the bars a `data_reference` names, again (a DataError if they changed)."""
    kind = identity.get("kind")
    if kind == "synthetic":
        return open_synthetic(identity)
    if kind == "replay":
        from peak_trade.data.replay import open_replay  # pandas, only when a file is named

        return open_replay(identity)
    raise DataError(f"the journal names its bars by an unknown kind of data, {kind!r}")
