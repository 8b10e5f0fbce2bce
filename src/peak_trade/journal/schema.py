"""The journal's format in one place: its tables and triggers, how payloads are encoded
and decoded, how a run's events are found, and the integrity check every opening runs.

Payloads are JSON with sorted keys; Decimals are written as text and floats by their shortest
round-trip form, so bars read back exactly. They are encoded with orjson (some six times faster
than the standard library's encoder, which matters when a backtest journals thousands of
orders): times as ISO 8601 text, enums by value; a non-finite float is written as null, and
other types (a dataclass, a set) are refused.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import orjson

from peak_trade.core.errors import ConfigError, InvariantError

__all__ = [
    "BY_INDEX",
    "BY_SPANS",
    "INDEXED",
    "LEGS_KEY",
    "SCHEMA",
    "SPANS",
    "PendingRow",
    "add_spans",
    "check_intact",
    "damaged",
    "decode",
    "leg_parent",
    "leg_run_id",
    "payload",
    "positional",
    "rendered",
    "template",
    "to_json",
]

# where a portfolio run's `run_started` config lists its legs; each leg journals its bars,
# orders and fills as a run of its own, named by `leg_run_id`
LEGS_KEY: Final = "legs"
_LEG = re.compile(r"(.+)\.leg[1-9][0-9]*")


def leg_run_id(run_id: str, leg: int) -> str:
    """Return the run id of leg `leg` (counted from 0) of portfolio run `run_id`."""
    return f"{run_id}.leg{leg + 1}"


def leg_parent(run_id: str) -> str | None:
    """Return the portfolio run a leg's run id belongs to (None: not a leg's)."""
    match = _LEG.fullmatch(run_id)
    return None if match is None else match.group(1)


# a row waiting for the next commit: run id, kind, event time, time written, payload
PendingRow = tuple[str, str, str | None, str, str]

# `seq` is the rowid: with deletes refused it only grows, so it orders events without
# AUTOINCREMENT's bookkeeping. A run's events are found through `spans`: each commit adds a
# row per run it wrote, naming the first and last seq of that run's events in it (consecutive
# within the transaction). A span row per commit costs far less than an index entry per event
# (an index by run id took a tenth of a backtest's journal time). Journals written before
# spans have an index on events by run (`events_by_run`; by run alone, or by run, kind and seq
# with AUTOINCREMENT): they keep it, are read through it, and get no spans.
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts_event TEXT,
    ts_init TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""
SPANS = """
CREATE TABLE IF NOT EXISTS spans (
    run_id TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_run ON spans (run_id);
CREATE TRIGGER IF NOT EXISTS spans_no_update BEFORE UPDATE ON spans
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS spans_no_delete BEFORE DELETE ON spans
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""
# where a run's events are read from: through its spans, or by the index of older journals
BY_SPANS = "spans s JOIN events e ON e.seq BETWEEN s.first_seq AND s.last_seq WHERE s.run_id = ?"
BY_INDEX = "events e WHERE e.run_id = ?"
INDEXED = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot journal a {type(value).__name__}")


# datetimes, enums and numpy numbers are encoded natively (as isoformat(), by value, as
# numbers); a dataclass is refused rather than journaled field by field
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_SERIALIZE_NUMPY


def to_json(payload: Mapping[str, Any]) -> str:
    """Encode a payload as the journal does: sorted keys, exact numbers."""
    try:
        return orjson.dumps(payload, default=_default, option=_OPTIONS).decode()
    except orjson.JSONEncodeError as error:
        raise TypeError(f"cannot journal {sorted(payload)}: {error}") from None


# The payloads of the rows that more than one writer words, field by field. The recorder builds
# them as dicts, one bar at a time (`payload`, encoded by `to_json`); the bulk writer of a
# compiled batch and the runs of quiet bars word them as text (`template`). TEXT: a string that
# never needs escaping in JSON (a Decimal's or a time's text, base64), written in quotes; RAW:
# JSON as it is (a number, or text orjson wrote).
TEXT, RAW = "text", "raw"
_BAR_FIELDS = {"t": TEXT, "o": RAW, "h": RAW, "l": RAW, "c": RAW, "v": RAW}
_ACCOUNT = {"target": RAW, "cash": TEXT, "position": TEXT}
PAYLOADS: Final[Mapping[str, Mapping[str, str]]] = {
    "bar": _BAR_FIELDS | _ACCOUNT | {"equity": TEXT, "drawdown": TEXT},
    # quiet bars copied into the journal, columns and times as base64
    "bars/copied": _ACCOUNT | {"n": RAW, "columns": TEXT, "t_us": TEXT},
    # quiet bars by reference to the data the run read
    "bars/referenced": _ACCOUNT | {"n": RAW, "first_us": RAW, "last_us": RAW, "peak": TEXT},
    "target_changed": {"from": RAW, "to": RAW},
    "order": {"client_id": RAW, "side": TEXT, "quantity": TEXT, "reason": TEXT, "type": TEXT},
    "order_denied": {"status": TEXT, "reasons": RAW, "client_ids": RAW},
    "fill": {
        "client_id": RAW,
        "side": TEXT,
        "quantity": TEXT,
        "price": TEXT,
        "fee": TEXT,
        "market_price": TEXT,
    },
    "safety": {"action": RAW, "environment": RAW, "allowed": RAW, "reason": RAW, "detail": RAW},
}


def payload(kind: str, **fields: Any) -> dict[str, Any]:
    """Return the payload of a `kind` row as a dict: exactly the fields `PAYLOADS` names."""
    if fields.keys() != PAYLOADS[kind].keys():
        wanted, given = sorted(PAYLOADS[kind]), sorted(fields)
        raise InvariantError(f"a {kind} row has the fields {wanted}, was given {given}")
    return fields


def template(kind: str) -> str:
    """Return the payload of a `kind` row as a %-template over its fields by name, written as
    `to_json` writes the dict: keys sorted, TEXT fields in quotes."""
    fields = PAYLOADS[kind]
    parts = []
    for name in sorted(fields):
        value = f"%({name})s"
        parts.append(f'"{name}":' + (f'"{value}"' if fields[name] == TEXT else value))
    return "{" + ",".join(parts) + "}"


def positional(kind: str, *names: str) -> str:
    """Return the payload of a `kind` row as a %-template over a tuple of its fields, given in
    `names` order: which must be the sorted order of `PAYLOADS` (checked here, once)."""
    if names != tuple(sorted(PAYLOADS[kind])):
        raise InvariantError(f"a {kind} row has the fields {sorted(PAYLOADS[kind])}, not {names}")
    return template(kind) % dict.fromkeys(names, "%s")


def rendered(kind: str, columns: Mapping[str, Sequence[object]]) -> list[str]:
    """Return the payloads of many `kind` rows as text, one per item of the `columns` (each
    field's values, by name: all of them)."""
    names = tuple(sorted(PAYLOADS[kind]))
    text = positional(kind, *names)
    if columns.keys() != set(names):
        raise InvariantError(
            f"a {kind} row has the fields {list(names)}, was given {sorted(columns)}"
        )
    return [text % values for values in zip(*(columns[name] for name in names), strict=True)]


_RUN_ID = itemgetter(0)


def add_spans(db: sqlite3.Connection, rows: list[PendingRow]) -> None:
    """Add a span for each stretch of one run's events among `rows`, just inserted (their
    seqs are consecutive: the transaction holds the file's only writer)."""
    seq = int(db.execute("SELECT last_insert_rowid()").fetchone()[0]) - len(rows) + 1
    runs = list(map(_RUN_ID, rows))
    spans: list[tuple[str, int, int]] = []
    if runs.count(runs[0]) == len(runs):  # one run, as nearly always
        spans.append((runs[0], seq, seq + len(runs) - 1))
    else:
        for run_id, stretch in itertools.groupby(runs):
            size = len(list(stretch))
            spans.append((run_id, seq, seq + size - 1))
            seq += size
    db.executemany("INSERT INTO spans (run_id, first_seq, last_seq) VALUES (?, ?, ?)", spans)


def check_intact(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file: SQLite's quick check reads every page once."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise ConfigError(damaged(path, "; ".join(problems)))


def damaged(path: Path, problem: object) -> str:
    return (
        f"the journal {path} is damaged ({problem}); it cannot be read or written safely. Keep "
        "the file for inspection, and give another --journal to go on"
    )


def decode(payload: str) -> dict[str, Any]:
    """Decode a payload: with orjson (some three times faster), or with the standard library
    for what orjson refuses (the NaN that journals written before orjson may hold)."""
    try:
        decoded: dict[str, Any] = orjson.loads(payload)
    except orjson.JSONDecodeError:
        decoded = json.loads(payload)
    return decoded
