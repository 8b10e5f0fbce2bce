"""The journal rows of a bar the compiled loop traded, encoded as `to_json` encodes them.

`SessionRecorder.outcome` builds each row's payload as a dict and encodes it; a batch of the
compiled loop journals thousands of traded bars, so their rows are written here as text
directly, byte for byte the same: sorted keys, Decimals as strings (their text never needs
escaping), floats, times and other text as orjson writes them. The parity tests of the
compiled loop compare the two forms row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson

from peak_trade.core.bar_columns import BarColumns
from peak_trade.execution.batch_view import TradedBar
from peak_trade.live.safety import SafetyAuditEntry

__all__ = ["traded_bar_rows"]

Row = tuple[str, datetime | None, str]  # kind, bar time, payload


def _text(value: str | datetime) -> str:
    """Return text or a time as JSON, as orjson writes it."""
    return orjson.dumps(value).decode()


def _floats(*values: float) -> list[str]:
    """Return floats as JSON numbers, as orjson writes them (shortest round trip)."""
    return orjson.dumps([float(v) for v in values]).decode()[1:-1].split(",")


def _safety_json(entry: SafetyAuditEntry) -> str:
    """Return a safety decision's payload as `to_json` encodes the one `safety` journals."""
    return (
        f'{{"action":{_text(entry.action)},"allowed":{"true" if entry.allowed else "false"},'
        f'"detail":{_text(entry.detail)},"environment":{_text(entry.environment)},'
        f'"reason":{_text(entry.reason)}}}'
    )


def traded_bar_rows(columns: BarColumns, bar: TradedBar) -> Iterator[Row]:
    """Yield a traded bar's rows in the order `SessionRecorder` journals them: the safety
    decision on its order, the bar, the target change, the order, its fills."""
    row, time = bar.row, bar.time
    if bar.safety is not None:
        yield "safety", bar.safety.ts, _safety_json(bar.safety)
    o, h, low, c, v = _floats(
        columns.open[row], columns.high[row], columns.low[row], columns.close[row],
        columns.volume[row],
    )  # fmt: skip
    yield (
        "bar",
        time,
        f'{{"c":{c},"cash":"{bar.cash}","drawdown":"{bar.drawdown}",'
        f'"equity":"{bar.equity}","h":{h},"l":{low},"o":{o},'
        f'"position":"{bar.position}","t":{_text(time)},"target":{bar.target},"v":{v}}}',
    )
    if bar.target != bar.previous:
        yield "target_changed", time, f'{{"from":{bar.previous},"to":{bar.target}}}'
    order = bar.order
    if order is not None:
        yield (
            "order",
            time,
            f'{{"client_id":{_text(order.client_id)},"quantity":"{order.quantity}",'
            f'"reason":{_text(order.reason)},"side":"{order.side.value}",'
            f'"type":"{order.order_type.value}"}}',
        )
    for fill in bar.fills:
        yield (
            "fill",
            fill.ts_event,
            f'{{"client_id":{_text(fill.client_id)},"fee":"{fill.fee}",'
            f'"market_price":"{fill.market_price}","price":"{fill.price}",'
            f'"quantity":"{fill.quantity}","side":"{fill.side.value}"}}',
        )
