"""SessionRecorder: quiet bars batched into `bars` events, read back bar for bar."""

from __future__ import annotations

import base64
import json
import math
import sqlite3
from array import array
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from peak_trade.backtest.runner import BacktestRunner
from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import ManualClock
from peak_trade.core.errors import ConfigError, DataError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.ports import DataReference, IteratorFeed
from peak_trade.data.reference import open_reference
from peak_trade.journal.bars import BAR_KINDS, ReferencedBars, bar_blocks, bar_rows
from peak_trade.journal.recorder import MAX_BATCH
from peak_trade.journal.schema import to_json
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.session.wiring import build_engine, engine_settings
from peak_trade.testing.builders import START, bars_from_closes
from peak_trade.testing.fakes import ScriptedFeed, ScriptedParams, ScriptedStrategy

WARM = 3
# Closes with many decimals, so an inexact round trip would show.
BARS = bars_from_closes([50_000.0 + 10.123456789 * i + (i % 7) / 3 for i in range(MAX_BATCH + 40)])


def _run(tmp_path: Path, targets: tuple[int, ...], steps: int, commit_every: int) -> Journal:
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM)
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,) * WARM + targets))
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    feed = ScriptedFeed(BARS[:WARM], [[bar] for bar in BARS[WARM:]])
    journal = Journal(tmp_path / "j.sqlite", clock=ManualClock(START))
    runner = LiveSessionRunner(session, engine, feed, clock=ManualClock(START), journal=journal)
    runner.commit_every = commit_every
    runner.warmup()
    runner.run_n_steps(steps)
    return journal


def _read(
    tmp_path: Path, targets: tuple[int, ...], steps: int, commit_every: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run, then return the journal's event kinds and its bars read back one per bar."""
    with _run(tmp_path, targets, steps, commit_every) as journal:
        run = journal.run_ids()[0]
        kinds = [event.kind for event in journal.events(run)]
        return kinds, list(bar_rows(journal.events(run, *BAR_KINDS)))


def test_quiet_bars_share_one_event_and_read_back_exactly(tmp_path: Path) -> None:
    # Arrange / Act: 10 bars, flat throughout, committed once at the end
    kinds, rows = _read(tmp_path, (0,), steps=10, commit_every=1_000)

    # Assert: one `bars` event holds all ten, and every value comes back bit for bit
    assert kinds.count("bars") == 1
    assert kinds.count("bar") == 0
    assert len(rows) == 10
    for row, bar in zip(rows, BARS[WARM : WARM + 10], strict=True):
        assert row["t"] == bar.time.isoformat()
        assert (row["o"], row["h"], row["l"], row["c"], row["v"]) == (
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
        )
        assert row["target"] == 0
        assert (Decimal(row["cash"]), Decimal(row["position"])) == (Decimal(10_000), Decimal(0))
        assert row["equity"] == 10_000.0
        assert row["drawdown"] == 0.0


def test_a_run_of_one_quiet_bar_is_an_ordinary_bar_event(tmp_path: Path) -> None:
    # Commit after every bar, as a live session does: the journal holds plain `bar` events.
    kinds, rows = _read(tmp_path, (0,), steps=4, commit_every=1)
    assert kinds.count("bar") == 4
    assert kinds.count("bars") == 0
    assert Decimal(rows[0]["equity"]) == 10_000  # exact decimal text, as before batching
    assert [row["c"] for row in rows] == [bar.close for bar in BARS[WARM : WARM + 4]]


def test_a_busy_bar_writes_the_quiet_run_before_it(tmp_path: Path) -> None:
    # Arrange / Act: flat for 5 bars, then long: bar 6 changes target and sends an order
    kinds, rows = _read(tmp_path, (0, 0, 0, 0, 0, 1), steps=9, commit_every=1_000)
    kinds = [k for k in kinds if k in {"bar", "bars", "order", "fill"}]

    # Assert: quiet run, then the busy bar with its order, the fill bar, then a quiet run
    assert kinds == ["bars", "bar", "order", "bar", "fill", "bars"]
    assert len(rows) == 9
    assert [row["target"] for row in rows] == [0] * 5 + [1] * 4
    position = Decimal(rows[-1]["position"])
    assert position > 0
    # in the last run, equity moves with the close: cash + position x close
    cash = Decimal(rows[-1]["cash"])
    for row in rows[-2:]:
        assert abs(row["equity"] - float(cash + position * Decimal(str(round(row["c"], 1))))) < 1e-6


def test_a_long_quiet_run_is_split_at_the_batch_size(tmp_path: Path) -> None:
    steps = MAX_BATCH + 30
    kinds, rows = _read(tmp_path, (0,), steps=steps, commit_every=10_000)
    assert kinds.count("bars") == 2
    assert len(rows) == steps
    assert [row["t"] for row in rows] == [bar.time.isoformat() for bar in BARS[WARM:][:steps]]


def test_a_backtest_over_columns_journals_the_same_bars_as_a_session(tmp_path: Path) -> None:
    # Arrange: long, flat, long again over 600 bars, once bar by bar and once as columns
    targets = (0,) * 50 + (1,) * 200 + (0,) * 100 + (1,) * 250
    steps = len(targets)
    _, session_rows = _read(tmp_path / "session", targets, steps=steps, commit_every=1)
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,) * WARM + targets))
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM)
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    used = BARS[: WARM + steps]
    chunks = iter([BarColumns.from_bars(used[i : i + 97]) for i in range(0, len(used), 97)])
    feed = IteratorFeed("BTC/EUR", Timeframe("1m"), chunks, source="columns")
    journal = Journal(tmp_path / "columns.sqlite", clock=ManualClock(START))
    runner = BacktestRunner(session, engine, feed, clock=ManualClock(START), journal=journal)

    # Act
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)

    # Assert: the same bars, targets, cash, position and equity (to the last bit)
    with journal:
        run = journal.run_ids()[0]
        kinds = [event.kind for event in journal.events(run)]
        column_rows = list(bar_rows(journal.events(run, *BAR_KINDS)))
    assert kinds.count("bars") >= 4
    assert len(column_rows) == len(session_rows) == steps
    for ours, theirs in zip(column_rows, session_rows, strict=True):
        fields = ("t", "o", "h", "l", "c", "v", "target")
        assert [ours[k] for k in fields] == [theirs[k] for k in fields]
        assert Decimal(ours["cash"]) == Decimal(theirs["cash"])
        assert Decimal(ours["position"]) == Decimal(theirs["position"])
        assert float(ours["equity"]) == float(theirs["equity"])
        assert float(ours["drawdown"]) == float(theirs["drawdown"])


def test_a_bars_payload_is_encoded_exactly_as_to_json_encodes_it(tmp_path: Path) -> None:
    _run(tmp_path, (0, 0, 1), steps=40, commit_every=1_000).close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    texts = [row[0] for row in db.execute("SELECT payload FROM events WHERE kind = 'bars'")]
    db.close()

    assert len(texts) == 2
    for text in texts:
        assert to_json(json.loads(text)) == text


def test_bars_events_of_older_journals_with_one_string_per_column_still_read_back() -> None:
    def packed(values: list[float], code: str = "d") -> str:
        return base64.b64encode(array(code, values).tobytes()).decode("ascii")

    payload: dict[str, Any] = {
        name: packed([1.5, 2.5]) for name in ("o", "h", "l", "c", "v", "equity", "drawdown")
    }
    payload |= {"t_us": packed([60_000_000, 120_000_000], "q"), "n": 2, "target": 1}
    payload |= {"cash": "9000", "position": "0.02"}
    event = JournalEvent(1, "old", "bars", None, "2024-01-01T00:00:00+00:00", payload)

    rows = list(bar_rows([event]))

    assert [row["t"] for row in rows] == ["1970-01-01T00:01:00+00:00", "1970-01-01T00:02:00+00:00"]
    assert [row["c"] for row in rows] == [1.5, 2.5]
    assert rows[1]["position"] == "0.02"


def test_a_quiet_run_longer_than_the_batch_is_split_into_bars_events(tmp_path: Path) -> None:
    steps = MAX_BATCH + 30
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,)))
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM)
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    used = BARS[: WARM + steps]
    chunks = iter([BarColumns.from_bars(used[:WARM]), BarColumns.from_bars(used[WARM:])])
    feed = IteratorFeed("BTC/EUR", Timeframe("1m"), chunks, source="columns")
    journal = Journal(tmp_path / "long.sqlite", clock=ManualClock(START))
    runner = BacktestRunner(session, engine, feed, clock=ManualClock(START), journal=journal)
    runner.configure_backtest(bars_per_transaction=10_000)
    runner.warmup()

    runner.run_forever(sleep_between=False)

    with journal:
        run = journal.run_ids()[0]
        sizes = [event.payload["n"] for event in journal.events(run, "bars")]
        rows = list(bar_rows(journal.events(run, *BAR_KINDS)))
    assert sizes == [MAX_BATCH, 30]
    assert [row["c"] for row in rows] == [bar.close for bar in used[WARM:]]


def _flatten(
    events: list[JournalEvent], source: ReferencedBars | None = None
) -> list[tuple[Any, ...]]:
    """The report's view of each bar, from blocks."""
    return [
        (t, close, block.target, block.position, block.cash, value, down)
        for block in bar_blocks(events, source)
        for t, close, value, down in zip(
            block.times, block.close, block.equity, block.drawdown, strict=True
        )
    ]


def test_bar_blocks_hold_the_same_bars_as_bar_rows(tmp_path: Path) -> None:
    # quiet runs (`bars`), a busy bar and a fill bar (`bar`), then a quiet run again
    with _run(tmp_path, (0, 0, 0, 0, 0, 1), steps=9, commit_every=1_000) as journal:
        events = list(journal.events(journal.run_ids()[0], *BAR_KINDS))

    expected = [
        (
            r["t"],
            r["c"],
            r["target"],
            r["position"],
            r["cash"],
            *map(float, (r["equity"], r["drawdown"])),
        )
        for r in bar_rows(events)
    ]

    assert [event.kind for event in events] == ["bars", "bar", "bar", "bars"]
    assert _flatten(events) == expected
    assert len(expected) == 9


@pytest.mark.parametrize(
    ("times", "second"),
    [
        ([0, 1_500_000, -60_000_000], "1970-01-01T00:00:01.500000+00:00"),
        ([-60_000_000, 86_400_000_000, 0], "1970-01-02T00:00:00+00:00"),
    ],
)
def test_bar_blocks_write_times_as_isoformat_does(times: list[int], second: str) -> None:
    payload: dict[str, Any] = {"target": 0, "cash": "1", "position": "0"}
    payload["t_us"] = base64.b64encode(array("q", times).tobytes()).decode("ascii")
    payload["columns"] = base64.b64encode(array("d", [1.0] * 21).tobytes()).decode("ascii")
    event = JournalEvent(1, "r", "bars", None, "2024-01-01T00:00:00+00:00", payload)

    (block,) = bar_blocks([event])

    assert block.times == [row["t"] for row in bar_rows([event])]
    assert block.times[1] == second


# --- quiet bars journaled by reference to their data (backtests) ---------------------------

# Up, down and sideways with many decimals: long and short runs reach new peaks and drawdowns.
WAVY = bars_from_closes(
    [50_000.0 + 900.0 * math.sin(i / 23) + 10.123456789 * (i % 7) for i in range(700)]
)


def _columns_run(tmp_path: Path, targets: tuple[int, ...], *, refer: bool) -> Journal:
    """Backtest `targets` over WAVY as columns of 97 bars; journal by reference or by copy."""
    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM, allow_short=True)
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,) * WARM + targets))
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())
    used = WAVY[: WARM + len(targets)]

    def chunks() -> Iterator[BarColumns]:
        return iter([BarColumns.from_bars(used[i : i + 97]) for i in range(0, len(used), 97)])

    reference = DataReference(lambda: {"kind": "test", "bars": len(used)}, chunks)
    feed = IteratorFeed("BTC/EUR", Timeframe("1m"), chunks(), "columns", reference=reference)
    journal = Journal(tmp_path / f"{refer}.sqlite", clock=ManualClock(START))
    runner = BacktestRunner(session, engine, feed, clock=ManualClock(START), journal=journal)
    runner.configure_backtest(refer_to_data=refer)
    runner.warmup()
    runner.run_forever(sleep_between=False)
    journal.commit()
    return journal


REFERENCE_TARGETS = (0,) * 40 + (1,) * 180 + (-1,) * 150 + (0,) * 60 + (1,) * 260


def _source(used: list[Bar] = WAVY) -> ReferencedBars:
    chunks = [BarColumns.from_bars(used[i : i + 131]) for i in range(0, len(used), 131)]
    return ReferencedBars(iter(chunks), price_decimals=1)


def test_a_backtest_journals_quiet_bars_by_reference_and_reads_back_every_bar_exactly(
    tmp_path: Path,
) -> None:
    # Arrange / Act: the same backtest, quiet bars copied and journaled by reference
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=False) as copied:
        copied_rows = list(bar_rows(copied.events(copied.run_ids()[0], *BAR_KINDS)))
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=True) as referred:
        run = referred.run_ids()[0]
        events = list(referred.events(run, *BAR_KINDS))
        reference = next(referred.events(run, "data_reference")).payload
        rows = list(bar_rows(events, _source()))

    # Assert: no quiet bar's candle or marks are in the journal, yet every bar reads back,
    # candle, target, cash, position, equity and drawdown, to the last bit
    quiet = [event.payload for event in events if event.kind == "bars"]
    assert len(quiet) >= 6
    assert all(
        set(p) == {"cash", "first_us", "last_us", "n", "peak", "position", "target"} for p in quiet
    )
    assert reference == {"source": {"kind": "test", "bars": WARM + 690}, "price_decimals": 1}
    assert len(rows) == len(copied_rows) == len(REFERENCE_TARGETS)
    for ours, theirs in zip(rows, copied_rows, strict=True):
        assert [ours[k] for k in ("t", "o", "h", "l", "c", "v", "target")] == [
            theirs[k] for k in ("t", "o", "h", "l", "c", "v", "target")
        ]
        assert Decimal(ours["cash"]) == Decimal(theirs["cash"])
        assert Decimal(ours["position"]) == Decimal(theirs["position"])
        assert float(ours["equity"]) == float(theirs["equity"])
        assert float(ours["drawdown"]) == float(theirs["drawdown"])
    assert {Decimal(row["position"]) > 0 for row in rows} == {True, False}
    assert (
        min(float(row["drawdown"]) for row in rows)
        == 0.0
        < max(float(row["drawdown"]) for row in rows)
    )


def test_a_report_reads_the_same_blocks_from_a_journal_by_reference(tmp_path: Path) -> None:
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=False) as copied:
        expected = _flatten(list(copied.events(copied.run_ids()[0], *BAR_KINDS)))
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=True) as referred:
        events = list(referred.events(referred.run_ids()[0], *BAR_KINDS))

    assert _flatten(events, _source()) == expected


def test_a_referenced_bars_payload_is_encoded_exactly_as_to_json_encodes_it(
    tmp_path: Path,
) -> None:
    _columns_run(tmp_path, REFERENCE_TARGETS, refer=True).close()
    db = sqlite3.connect(tmp_path / "True.sqlite")
    texts = [row[0] for row in db.execute("SELECT payload FROM events WHERE kind = 'bars'")]
    db.close()

    assert texts
    for text in texts:
        assert to_json(json.loads(text)) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (WAVY[:300], "no run of"),  # the data ends early
        (WAVY[:100] + WAVY[101:], "ends at"),  # a bar is missing inside a quiet run
        (bars_from_closes([1.0] * 700, start=START + timedelta(seconds=30)), "no run of"),
    ],
)
def test_reading_a_journal_by_reference_with_other_data_is_refused(
    tmp_path: Path, data: list[Bar], message: str
) -> None:
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=True) as journal:
        events = list(journal.events(journal.run_ids()[0], *BAR_KINDS))

    with pytest.raises(DataError, match=f"{message}.*not the data the run read"):
        list(bar_rows(events, _source(data)))


def test_reading_a_journal_by_reference_without_its_data_names_what_is_missing(
    tmp_path: Path,
) -> None:
    with _columns_run(tmp_path, REFERENCE_TARGETS, refer=True) as journal:
        events = list(journal.events(journal.run_ids()[0], *BAR_KINDS))

    with pytest.raises(DataError, match="by reference to its data"):
        list(bar_blocks(events))


def test_a_data_reference_of_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(DataError, match="unknown kind of data, 'feather'"):
        open_reference({"kind": "feather", "path": "x"})


def test_a_run_without_a_journal_never_identifies_its_data() -> None:
    # Arrange: data whose identification would fail (a file's digest reads the whole file)
    def identify() -> dict[str, object]:
        raise AssertionError("identified without a journal to refer from")

    session = LiveSessionConfig(data_source="synthetic", warmup_candles=WARM)
    strategy = ScriptedStrategy(ScriptedParams(targets=(0,) * WARM + (1,) * 50))
    engine = build_engine(strategy, engine_settings(session), PeakConfig.default())

    def chunks() -> Iterator[BarColumns]:
        return iter([BarColumns.from_bars(WAVY[: WARM + 50])])

    feed = IteratorFeed(
        "BTC/EUR", Timeframe("1m"), chunks(), "columns", reference=DataReference(identify, chunks)
    )
    runner = BacktestRunner(session, engine, feed, clock=ManualClock(START), journal=None)

    # Act
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)

    # Assert: it traded, and asked for no identity
    assert runner.metrics.steps == 50
    assert runner.recorder.source() is None


def test_a_new_place_for_data_that_was_no_file_is_refused(tmp_path: Path) -> None:
    identity = {"kind": "synthetic", "seed": 7, "bars": 10, "timeframe": "1m"}
    with pytest.raises(ConfigError, match="--data-path is for a backtest over a file"):
        open_reference(identity, moved_to=tmp_path / "bars.csv")


def test_a_row_is_worded_from_one_schema_for_the_recorder_and_the_bulk_writer() -> None:
    from peak_trade.core.errors import InvariantError
    from peak_trade.journal.schema import payload, positional, template, to_json

    fields = {"client_ids": ["o-1"], "reasons": ["r: why"], "status": "blocked_by_risk"}
    as_dict = to_json(payload("order_denied", **fields))
    as_text = template("order_denied") % {
        "client_ids": '["o-1"]',
        "reasons": '["r: why"]',
        "status": "blocked_by_risk",
    }
    by_position = positional("order_denied", "client_ids", "reasons", "status") % (
        '["o-1"]',
        '["r: why"]',
        "blocked_by_risk",
    )
    assert as_dict == as_text == by_position
    assert as_dict == '{"client_ids":["o-1"],"reasons":["r: why"],"status":"blocked_by_risk"}'
    with pytest.raises(InvariantError, match="order_denied row has the fields"):
        payload("order_denied", status="x", reasons=[])  # a field missing
    with pytest.raises(InvariantError, match="not"):
        positional("order_denied", "status", "reasons", "client_ids")  # another order
