"""The report's plot data, and how report files reach their folder."""

from __future__ import annotations

import csv
import errno
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.errors import ConfigError, InvariantError, SessionRuntimeError
from peak_trade.journal.bars import BarBlock
from peak_trade.journal.store import JournalEvent
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.report.plots import envelope
from peak_trade.report.trades import TradeLog, epoch_seconds
from peak_trade.report.writer import equity_rows, staged_files, write_report

NAMES = ("summary.json", "equity.png")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _report(target: Path, files: dict[str, bytes], failure: Exception | None = None) -> None:
    """Write `files` as a report into `target`, raising `failure` after writing them."""
    with staged_files(target, NAMES) as staging:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if failure is not None:
            raise failure


def test_report_files_replace_their_namesakes_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "journal.sqlite").write_bytes(b"the run's journal")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "summary.json").write_text("old")

    _report(tmp_path, {"summary.json": b"new", "equity.png": b"png"})

    assert _contents(tmp_path) == {
        "journal.sqlite": b"the run's journal",
        "notes.txt": b"mine",
        "summary.json": b"new",
        "equity.png": b"png",
    }


def test_a_report_file_not_written_this_time_is_removed(tmp_path: Path) -> None:
    (tmp_path / "equity.png").write_bytes(b"from an earlier report")

    _report(tmp_path, {"summary.json": b"new"})

    assert _contents(tmp_path) == {"summary.json": b"new"}


def test_a_failed_report_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("old")
    (tmp_path / "notes.txt").write_text("mine")

    with pytest.raises(RuntimeError, match="plot failed"):
        _report(tmp_path, {"summary.json": b"new"}, RuntimeError("plot failed"))

    assert _contents(tmp_path) == {"summary.json": b"old", "notes.txt": b"mine"}


def test_a_file_not_declared_is_refused_before_anything_moves(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("old")

    with pytest.raises(InvariantError, match=r"not declared: other\.csv"):
        _report(tmp_path, {"summary.json": b"new", "other.csv": b"?"})

    assert _contents(tmp_path) == {"summary.json": b"old"}


def test_a_report_folder_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    target = tmp_path / "report"
    target.write_text("a file")

    with pytest.raises(ConfigError, match="is a file; expected a folder"):
        _report(target, {"summary.json": b"new"})

    assert target.read_text() == "a file"


def test_a_new_report_folder_is_created_with_its_parents(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run-1"

    _report(target, {"summary.json": b"{}"})

    assert _contents(target) == {"summary.json": b"{}"}


def test_a_short_run_is_drawn_bar_by_bar() -> None:
    equity = np.array([100.0, 101.0, 99.5])
    drawdown = np.array([0.0, 0.0, -1.5])

    steps, (low, deepest), (high, _) = envelope([equity, drawdown], points=10)

    assert steps.tolist() == [0.0, 1.0, 2.0]
    assert low is high
    assert low.tolist() == equity.tolist()
    assert deepest.tolist() == drawdown.tolist()


def test_a_long_run_keeps_the_extremes_of_each_stretch_of_bars() -> None:
    rng = np.random.default_rng(3)
    equity = 10_000 + np.cumsum(rng.normal(0, 5, 10_001))
    drawdown = equity - np.maximum.accumulate(equity)

    steps, (low, deepest), (high, _) = envelope([equity, drawdown], points=1_000)

    # 11 bars a point (10,001 / 1,000 rounded up): 910 stretches, the last one 2 bars long,
    # and a closing point at the last bar that repeats it
    assert len(steps) == 911
    assert steps[:3].tolist() == [0.0, 11.0, 22.0]
    assert steps[-2:].tolist() == [9_999.0, 10_000.0]
    assert (low[0], high[0], deepest[0]) == (
        equity[:11].min(),
        equity[:11].max(),
        drawdown[:11].min(),
    )
    assert (low.min(), high.max(), deepest.min()) == (equity.min(), equity.max(), drawdown.min())
    assert high[-2] == high[-1] == equity[9_999:].max()


def test_an_envelope_whose_last_stretch_is_one_bar_needs_no_closing_point() -> None:
    equity = np.arange(1.0, 8.0)  # 7 bars, 3 a point: stretches at 0, 3 and 6
    steps, (low,), (high,) = envelope([equity], points=3)
    assert steps.tolist() == [0.0, 3.0, 6.0]
    assert (low.tolist(), high.tolist()) == ([1.0, 4.0, 7.0], [3.0, 6.0, 7.0])


_floats = st.floats(allow_nan=False, allow_infinity=False)
_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str)


@given(
    rows=st.lists(st.tuples(_floats, _floats, _floats), min_size=1, max_size=20),
    target=st.sampled_from([-1, 0, 1]),
    cash=_decimals,
    position=_decimals,
    flat=st.booleans(),
)
def test_equity_rows_are_what_csv_writer_writes(
    rows: list[tuple[float, float, float]], target: int, cash: str, position: str, flat: bool
) -> None:
    times = [f"2024-01-01T00:{i:02d}:00+00:00" for i in range(len(rows))]
    close, equity, drawdown = (list(column) for column in zip(*rows, strict=True))
    if flat:  # equity and drawdown stand still, as while no position is held
        equity, drawdown = [equity[0]] * len(rows), [drawdown[0]] * len(rows)
    block = BarBlock(times, close, equity, drawdown, target, cash, position)

    expected = io.StringIO(newline="")
    csv.writer(expected).writerows(
        (t, c, target, f"{Decimal(position):f}", f"{Decimal(cash):f}", e, d)
        for t, c, e, d in zip(times, close, equity, drawdown, strict=True)
    )

    assert equity_rows(block) == expected.getvalue()


def test_equity_rows_keep_decimal_text_and_float_repr() -> None:
    block = BarBlock(
        ["2024-01-01T00:00:00+00:00"],
        [42000.5],
        [10000.1],
        [0.0],
        1,
        "123.45",
        str(Decimal("0.00100000")),
    )
    assert (
        equity_rows(block)
        == "2024-01-01T00:00:00+00:00,42000.5,1,0.00100000,123.45,10000.1,0.0\r\n"
    )


def test_equity_rows_keep_the_sign_of_a_zero_drawdown_in_a_flat_block() -> None:
    zeros = [0.0, -0.0, 0.0]
    block = BarBlock(["t0", "t1", "t2"], [1.0, 2.0, 3.0], [10.0] * 3, zeros, 0, "10", "0")
    assert equity_rows(block).splitlines() == [
        "t0,1.0,0,0,10,10.0,0.0",
        "t1,2.0,0,0,10,10.0,-0.0",
        "t2,3.0,0,0,10,10.0,0.0",
    ]


def test_equity_rows_write_decimals_in_plain_notation() -> None:
    # a flat position after a round trip is journaled as Decimal's "0E-8"
    block = BarBlock(["2024-01-01T00:00:00+00:00"], [1.0], [10.0], [0.0], 0, "1E+1", "0E-8")
    assert equity_rows(block) == "2024-01-01T00:00:00+00:00,1.0,0,0.00000000,10,10.0,0.0\r\n"


def test_trades_csv_writes_the_fills_amounts_in_plain_notation(tmp_path: Path) -> None:
    # Arrange: a buy and a sell without fees, journaled as Decimal writes a zero fee: "0E-10"
    summary = {
        "run_id": "r",
        "ledger": {"start_balance": "10000", "currency": "EUR"},
        "config": {"timeframe": "1m", "mode": "shadow", "strategy_key": "s", "symbol": "BTC/EUR"},
    }
    times = ["2024-01-01T00:00:00+00:00", "2024-01-01T00:01:00+00:00"]
    fills = [
        JournalEvent(
            i + 1,
            "r",
            "fill",
            t,
            t,
            {
                "client_id": f"c{i}",
                "side": side,
                "quantity": "0.02074241",
                "price": price,
                "fee": "0E-10",
                "market_price": "4.82104E+4",
            },
        )
        for i, (t, side, price) in enumerate(
            zip(times, ("buy", "sell"), ("48210.4", "48300"), strict=True)
        )
    ]
    block = BarBlock(times, [1.0, 1.0], [10_000.0, 10_000.0], [0.0, 0.0], 0, "10000", "0")

    # Act
    write_report(tmp_path, summary, fills, [block])

    # Assert
    assert (tmp_path / "trades.csv").read_text().splitlines() == [
        "time,client_id,side,quantity,price,fee,market_price",
        f"{times[0]},c0,buy,0.02074241,48210.4,0.0000000000,48210.4",
        f"{times[1]},c1,sell,0.02074241,48300,0.0000000000,48210.4",
    ]


def test_a_report_the_disk_cannot_hold_is_a_runtime_error_and_leaves_the_folder(
    tmp_path: Path,
) -> None:
    # Arrange: an earlier report, and bars whose reading hits a full disk half way
    (tmp_path / "equity.csv").write_text("earlier")
    summary = {
        "run_id": "r",
        "ledger": {"start_balance": "10000", "currency": "EUR"},
        "config": {"timeframe": "1m", "mode": "shadow", "strategy_key": "s", "symbol": "BTC/EUR"},
    }
    block = BarBlock(["2024-01-01T00:00:00+00:00"], [1.0], [10_000.0], [0.0], 0, "10000", "0")

    def bars() -> Iterator[BarBlock]:
        yield block
        raise OSError(errno.ENOSPC, "No space left on device")

    # Act / Assert
    with pytest.raises(SessionRuntimeError, match=r"cannot write the report into .*: No space"):
        write_report(tmp_path, summary, [], bars())
    assert [p.name for p in tmp_path.iterdir()] == ["equity.csv"]
    assert (tmp_path / "equity.csv").read_text() == "earlier"


def _event(seq: int, kind: str, time: str, **payload: Any) -> JournalEvent:
    return JournalEvent(seq, "r", kind, time, time, payload)


def test_round_trips_and_plot_marks_come_from_orders_fills_and_state_changes(
    tmp_path: Path,
) -> None:
    # Arrange: a long from t0 to t1, reduce-only from t1, a second long still open at the end
    t = [f"2024-01-01T00:0{k}:00+00:00" for k in range(4)]
    fill = {"quantity": "0.5", "fee": "0.1", "market_price": "100"}
    events = [
        _event(1, "order", t[0], client_id="c0", side="buy", reason="entry_long"),
        _event(2, "fill", t[0], client_id="c0", side="buy", price="100", **fill),
        _event(3, "order", t[1], client_id="c1", side="sell", reason="exit_long"),
        _event(4, "fill", t[1], client_id="c1", side="sell", price="110", **fill),
        _event(5, "trading_state", t[1], to="reducing", reason="drawdown 3 % over 2 %"),
        _event(6, "order", t[2], client_id="c2", side="buy", reason="entry_long"),
        _event(7, "fill", t[2], client_id="c2", side="buy", price="90", **fill),
    ]
    stats = PerformanceStats(start_equity=10_000.0, bars_per_year=525_600)
    log = TradeLog(stats)

    # Act
    log.write_fills(tmp_path / "trades.csv", events)
    still_open = log.write_trips(tmp_path / "round_trips.csv", (t[3], 96.0))

    # Assert
    assert still_open
    with (tmp_path / "round_trips.csv").open() as handle:
        rows = [tuple(row.values()) for row in csv.DictReader(handle)]
    assert rows == [
        ("long", t[0], t[1], "0:01:00", "0.5", "100", "110", "4.8", "0.2", "target flat"),
        (
            "long",
            t[2],
            t[3],
            "0:01:00",
            "0.5",
            "90",
            "96.0",
            "2.90",
            "0.1",
            "end of data (still open)",
        ),
    ]
    seconds = [epoch_seconds(time) for time in t]
    assert log.fills == [
        (seconds[0], 100.0, True),
        (seconds[1], 110.0, False),
        (seconds[2], 90.0, True),
    ]
    assert log.states == [(seconds[1], "reducing", "drawdown 3 % over 2 %")]
    assert stats.result()["trades"] == 1  # the open position is no round trip
