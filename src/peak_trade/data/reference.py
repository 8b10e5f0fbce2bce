"""Read the bars a backtest's journal refers to again, by the identity it journaled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import ConfigError, DataError
from peak_trade.data.synthetic import open_synthetic

__all__ = ["open_reference"]


def open_reference(
    identity: Mapping[str, Any], moved_to: Path | None = None
) -> Iterator[BarColumns]:
    """Yield the bars a `data_reference` names, again (a DataError if they changed); a file
    that moved is read from `moved_to`, where its SHA-256 must match just the same."""
    kind = identity.get("kind")
    if moved_to is not None and kind != "replay":
        raise ConfigError("--data-path is for a backtest over a file; this run used none")
    if kind == "synthetic":
        return open_synthetic(identity)
    if kind == "replay":
        from peak_trade.data.replay import open_replay  # pandas, only when a file is named

        if moved_to is not None:
            identity = {**identity, "path": str(moved_to.resolve())}
        return open_replay(identity)
    raise DataError(f"the journal names its bars by an unknown kind of data, {kind!r}")
