"""What a candle file says about itself: the exchange, symbol and timeframe its candles are of,
and the instrument's rules there. `peak-trade download` writes it, replays read it.

A Parquet file keeps it in its file metadata (key `peak_trade`); a CSV file in a sidecar beside
it, `<file>.meta.json`. Both hold the same JSON object. Files are written whole into a
temporary name and moved into place, so a reader never sees half of one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from peak_trade.core.errors import DataError
from peak_trade.core.files import is_file
from peak_trade.core.types import TIMEFRAMES, Bar, Instrument, parse_symbol

__all__ = ["CandleMeta", "read_meta", "sidecar_of", "write_candles", "write_replay"]

_KEY: Final = b"peak_trade"
FORMAT: Final = 1


class CandleMeta(BaseModel):
    """Where a file's candles come from and the rules of the instrument they price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = FORMAT
    exchange: str
    symbol: str
    timeframe: str
    price_decimals: int | None = None  # the instrument's rules there, when the exchange said
    lot_decimals: int | None = None
    min_order_size: str | None = None
    min_order_cost: str | None = None
    source: str = ""  # how the candles were made, e.g. "Kraken Trades and OHLC"

    def instrument(self) -> Instrument | None:
        """Return the instrument rules the file carries, or None if it carries none."""
        if self.price_decimals is None or self.lot_decimals is None:
            return None
        base, quote = parse_symbol(self.symbol)
        return Instrument(
            self.symbol,
            base,
            quote,
            self.price_decimals,
            self.lot_decimals,
            Decimal(self.min_order_size or "0"),
            Decimal(self.min_order_cost or "0"),
        )

    @classmethod
    def of(cls, exchange: str, timeframe: str, rules: Instrument | None, source: str) -> CandleMeta:
        """Return the metadata of candles of `rules.symbol` on `exchange`."""
        if rules is None:
            raise DataError(f"no instrument rules for the candles of {exchange}")
        return cls(
            exchange=exchange,
            symbol=rules.symbol,
            timeframe=timeframe,
            price_decimals=rules.price_decimals,
            lot_decimals=rules.lot_decimals,
            min_order_size=str(rules.min_order_size),
            min_order_cost=str(rules.min_order_cost),
            source=source,
        )


def sidecar_of(path: Path) -> Path:
    """Return where a CSV file's metadata is kept."""
    return path.with_name(path.name + ".meta.json")


def read_meta(path: Path) -> CandleMeta | None:
    """Return the metadata a candle file carries, None if it carries none (a file written by
    another tool, or a path that is no file: its reader says so); a DataError if what it
    carries is not ours or not valid."""
    raw: Any
    if not is_file(path):
        return None
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            stored = pq.read_schema(path).metadata or {}
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: cannot read its Parquet metadata: {error}") from None
        if _KEY not in stored:
            return None
        raw = stored[_KEY]
    else:
        sidecar = sidecar_of(path)
        if not is_file(sidecar):
            return None
        raw = sidecar.read_bytes()
    try:
        meta = CandleMeta.model_validate(json.loads(raw))
        if meta.timeframe not in TIMEFRAMES:
            raise ValueError(f"timeframe {meta.timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        meta.instrument()  # the rules must make an instrument
    except (ValueError, ValidationError) as error:
        where = "its Parquet metadata" if path.suffix.lower() == ".parquet" else sidecar_of(path)
        raise DataError(f"{path}: {where} is not a candle description: {error}") from None
    return meta


def write_candles(path: Path, frame: pd.DataFrame, meta: CandleMeta) -> None:
    """Write candles (time, open, high, low, close, volume) with their metadata, atomically."""
    text = meta.model_dump_json().encode()
    staging = path.with_name(f".{path.name}.writing")
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            schema_meta = dict(table.schema.metadata or {}) | {_KEY: text}
            pq.write_table(table.replace_schema_metadata(schema_meta), staging)
            staging.replace(path)
            return
        frame.to_csv(staging, index=False)  # floats as their shortest exact text
        side = sidecar_of(path)
        side_staging = side.with_name(f".{side.name}.writing")
        side_staging.write_bytes(text + b"\n")
        side_staging.replace(side)  # the description first: a file is never without it
        staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)


def write_replay(path: str | Path, bars: Sequence[Bar]) -> Path:
    """Write bars to a CSV or Parquet file (by extension) that `load_replay` reads back."""
    target = Path(path)
    frame = pd.DataFrame(
        {
            "time": [bar.time.isoformat() for bar in bars],
            "open": [bar.open for bar in bars],
            "high": [bar.high for bar in bars],
            "low": [bar.low for bar in bars],
            "close": [bar.close for bar in bars],
            "volume": [bar.volume for bar in bars],
        }
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False, float_format="%.10g")
    return target
