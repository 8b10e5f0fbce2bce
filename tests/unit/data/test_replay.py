"""Replay files: validated on load, errors name rows and times, gaps are reported."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import write_replay
from peak_trade.data.replay import load_replay, open_replay, replay_feed, replay_identity
from peak_trade.data.synthetic import SyntheticMarket

ONE_MINUTE = Timeframe("1m")
HEADER = "time,open,high,low,close,volume\n"


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "candles.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def _row(
    minute: int,
    close: float = 100.0,
    high: float | None = None,
    low: float | None = None,
    volume: float = 1.0,
) -> str:
    high = close + 1 if high is None else high
    low = close - 1 if low is None else low
    return f"2024-01-01T00:{minute:02d}:00Z,{close},{high},{low},{close},{volume}"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_written_bars_read_back_identically(tmp_path: Path, suffix: str) -> None:
    bars = list(SyntheticMarket(seed=2, bars=300))
    path = write_replay(tmp_path / f"bars{suffix}", bars)
    loaded = list(load_replay(path, ONE_MINUTE).bars())
    assert [bar.time for bar in loaded] == [bar.time for bar in bars]
    for got, want in zip(loaded, bars, strict=True):
        assert got.close == pytest.approx(want.close, rel=1e-9)
        assert got.high == pytest.approx(want.high, rel=1e-9)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_read_in_pieces_is_the_file_read_whole(tmp_path: Path, suffix: str) -> None:
    path = write_replay(tmp_path / f"bars{suffix}", list(SyntheticMarket(seed=4, bars=250)))
    whole = load_replay(path, ONE_MINUTE, read_rows=1_000)
    for rows in (1, 7, 64):
        pieces = load_replay(path, ONE_MINUTE, read_rows=rows)
        assert pieces.seconds.tolist() == whole.seconds.tolist()
        assert pieces.prices.tolist() == whole.prices.tolist()


def test_the_columns_of_a_loaded_file_are_views_of_its_prices_not_copies(tmp_path: Path) -> None:
    # a long backtest holds the file's prices once, not once more as columns
    data = load_replay(
        write_replay(tmp_path / "bars.csv", list(SyntheticMarket(bars=50))), ONE_MINUTE
    )

    columns = data.columns()

    for index, column in enumerate((columns.open, columns.high, columns.low, columns.close)):
        assert np.shares_memory(column, data.prices)
        assert column.flags.c_contiguous
        assert column.tolist() == data.prices[:, index].tolist()


def test_errors_in_a_later_piece_name_the_row_of_the_file(tmp_path: Path) -> None:
    rows = [_row(minute) for minute in range(10)]
    rows[8] = "," + rows[8].split(",", 1)[1]  # row 9 has no time
    with pytest.raises(DataError, match="row 9: time is empty"):
        load_replay(_csv(tmp_path, rows), ONE_MINUTE, read_rows=3)
    rows[8] = _row(8, close=-1.0)
    with pytest.raises(DataError, match="row 9: bad candle"):
        load_replay(_csv(tmp_path, rows), ONE_MINUTE, read_rows=3)
    rows[8] = _row(7)
    with pytest.raises(DataError, match="duplicate time in 1 row"):
        load_replay(_csv(tmp_path, rows), ONE_MINUTE, read_rows=3)


def test_unix_seconds_and_milliseconds_are_both_read(tmp_path: Path) -> None:
    rows = ["1704067200,100,101,99,100,1", "1704067260000,100,101,99,100,1"]
    data = load_replay(_csv(tmp_path, rows), ONE_MINUTE)
    times = [bar.time for bar in data.bars()]
    assert times[1] - times[0] == timedelta(minutes=1)
    assert times[0].isoformat() == "2024-01-01T00:00:00+00:00"


def test_iso_time_without_offset_is_read_as_utc(tmp_path: Path) -> None:
    data = load_replay(_csv(tmp_path, ["2024-01-01 00:00:00,100,101,99,100,1"]), ONE_MINUTE)
    assert next(data.bars()).time.isoformat() == "2024-01-01T00:00:00+00:00"


def test_malformed_candles_are_listed_with_rows_and_rules(tmp_path: Path) -> None:
    rows = [_row(0), _row(1, high=99.0), _row(2), _row(3, close=-5.0, low=-6.0), _row(4)]
    with pytest.raises(DataError) as caught:
        load_replay(_csv(tmp_path, rows), ONE_MINUTE)
    message = str(caught.value)
    assert "2 malformed candle(s)" in message
    assert (
        "row 2: bad candle at 2024-01-01T00:01:00+00:00: high 99.0 is below max(open, close)"
        in message
    )
    assert (
        "row 4: bad candle at 2024-01-01T00:03:00+00:00: open must be a finite price > 0" in message
    )


def test_non_numeric_price_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="row 1: open must be a number, was 'abc'"):
        load_replay(_csv(tmp_path, ["2024-01-01T00:00:00Z,abc,101,99,100,1"]), ONE_MINUTE)


def test_a_non_numeric_cell_is_named_by_its_row_in_the_whole_file(tmp_path: Path) -> None:
    rows = [_row(minute) for minute in range(12)]
    rows[9] = rows[9].rsplit(",", 1)[0] + ",lots"  # the volume of data row 10
    path = _csv(tmp_path, rows)

    with pytest.raises(DataError, match=r"row 10: volume must be a number, was 'lots'$"):
        load_replay(path, ONE_MINUTE, read_rows=4)  # in the third chunk read


def test_a_time_that_is_not_a_time_is_named_by_its_row_and_value(tmp_path: Path) -> None:
    rows = [_row(minute) for minute in range(12)]
    rows[6] = "yesterday" + rows[6][rows[6].index(",") :]  # the time of data row 7
    path = _csv(tmp_path, rows)

    with pytest.raises(DataError) as caught:
        load_replay(path, ONE_MINUTE, read_rows=4)  # in the second chunk read

    assert str(caught.value) == (
        f"{path}: row 7: time 'yesterday' is neither ISO-8601 text nor Unix seconds or "
        "milliseconds (e.g. 2024-01-02T03:04:00Z or 1704164640)"
    )


def test_duplicate_time_is_an_error_naming_the_row(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"duplicate time in 1 row\(s\): row 3 at 2024-01-01 00:01:00 UTC"
    ):
        load_replay(_csv(tmp_path, [_row(0), _row(1), _row(1), _row(2)]), ONE_MINUTE)


def test_backwards_time_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"time goes backwards in 1 row\(s\): row 3 at 2024-01-01 00:01:00"
    ):
        load_replay(_csv(tmp_path, [_row(0), _row(5), _row(1)]), ONE_MINUTE)


def test_spacing_off_the_timeframe_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="time is not on a 5m boundary in 1 row"):
        load_replay(_csv(tmp_path, [_row(0), _row(5), _row(7)]), Timeframe("5m"))


def test_weekly_candles_that_open_on_mondays_are_read_on_their_own_grid(tmp_path: Path) -> None:
    # the epoch was a Thursday, where epoch-counted weeks begin; many sources begin on Monday
    mondays = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=w) for w in (0, 1, 2, 4)]
    rows = [f"{t.isoformat()},100,101,99,100,1" for t in mondays]
    data = load_replay(_csv(tmp_path, rows), Timeframe("1w"))
    assert [bar.time for bar in data.bars()] == mondays
    assert [gap.missing_bars for gap in data.gaps] == [1]


def test_a_bar_off_the_grid_the_first_bar_set_is_an_error(tmp_path: Path) -> None:
    # daily candles that open at 16:00 UTC (a local midnight), one of them at 00:00
    days = [datetime(2024, 1, 1, 16, tzinfo=UTC) + timedelta(days=d) for d in range(3)]
    days.append(datetime(2024, 1, 5, tzinfo=UTC))
    rows = [f"{t.isoformat()},100,101,99,100,1" for t in days]
    with pytest.raises(
        DataError,
        match=r"time is not on the 1d grid of the first bar \(2024-01-01 16:00:00 UTC\) in 1 "
        r"row\(s\): row 4 at 2024-01-05 00:00:00 UTC",
    ):
        load_replay(_csv(tmp_path, rows), Timeframe("1d"))


def test_gaps_are_reported_with_their_times(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    data = load_replay(_csv(tmp_path, [_row(0), _row(1), _row(4), _row(5)]), ONE_MINUTE)
    assert len(data) == 4
    assert [(str(gap), gap.missing_bars) for gap in data.gaps] == [
        ("2 missing bar(s) between 2024-01-01 00:01 and 2024-01-01 00:04 UTC", 2)
    ]
    assert "2 missing bar(s) between 2024-01-01 00:01" in caplog.text


def test_a_file_of_longer_candles_is_refused_with_the_timeframe_it_holds(tmp_path: Path) -> None:
    # 5-minute candles, one of them missing: read as 1m they would be four gaps in five
    path = _csv(tmp_path, [_row(m) for m in (0, 5, 10, 20, 25, 30)])

    with pytest.raises(
        DataError,
        match=r"bars are 5m apart \(most of them\), not 1m; replay it "
        r"with --timeframe 5m",
    ):
        load_replay(path, ONE_MINUTE)
    assert len(load_replay(path, Timeframe("5m"))) == 6


def test_a_file_of_shorter_candles_is_refused_with_the_timeframe_it_holds(tmp_path: Path) -> None:
    # 1-minute candles read as 5m: most are off the 5m boundaries
    path = _csv(tmp_path, [_row(m) for m in range(12)])

    with pytest.raises(
        DataError,
        match=r"time is not on a 5m boundary in 9 row\(s\): row 2 at 2024-01-01 00:01:00 UTC, .*; "
        r"its bars are 1m apart \(most of them\), not 5m; replay it with --timeframe 1m$",
    ):
        load_replay(path, Timeframe("5m"))


def test_sparse_bars_of_the_right_timeframe_are_gaps_not_an_error(tmp_path: Path) -> None:
    # an illiquid market: most candles one minute apart, some missing, a 7-minute hole
    data = load_replay(_csv(tmp_path, [_row(m) for m in (0, 1, 2, 4, 5, 12, 13)]), ONE_MINUTE)
    assert [gap.missing_bars for gap in data.gaps] == [1, 6]


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["2024-01-01T00:00:00Z,100,1"], header="when,close,volume\n")
    with pytest.raises(DataError) as caught:
        load_replay(path, ONE_MINUTE)
    assert (
        "missing column(s) a time column (time/timestamp/open_time/date/datetime), open, high, low"
        in str(caught.value)
    )
    assert "found ['when', 'close', 'volume']" in str(caught.value)


def test_column_names_are_case_insensitive(tmp_path: Path) -> None:
    path = _csv(tmp_path, [_row(0)], header="Timestamp,Open,High,Low,Close,Volume\n")
    assert len(load_replay(path, ONE_MINUTE)) == 1


def test_missing_empty_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="replay file not found"):
        load_replay(tmp_path / "nope.csv", ONE_MINUTE)
    with pytest.raises(DataError, match="no candle rows"):
        load_replay(_csv(tmp_path, []), ONE_MINUTE)
    other = tmp_path / "bars.json"
    other.write_text("{}")
    with pytest.raises(DataError, match=r"expected a \.csv or \.parquet file, found '\.json'"):
        load_replay(other, ONE_MINUTE)


def test_parquet_with_datetime_column_is_read(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "open_time": pd.date_range("2024-01-01", periods=3, freq="1h", tz="UTC"),
            "open": [1.0, 2.0, 3.0],
            "high": [2.0, 3.0, 4.0],
            "low": [0.5, 1.5, 2.5],
            "close": [2.0, 3.0, 3.5],
            "volume": [0.0, 1.0, 2.0],
        }
    )
    path = tmp_path / "hourly.parquet"
    frame.to_parquet(path)
    bars = list(load_replay(path, Timeframe("1h")).bars())
    assert [bar.close for bar in bars] == [2.0, 3.0, 3.5]


def test_replay_feed_refuses_a_warmup_longer_than_the_file(tmp_path: Path) -> None:
    feed = replay_feed(_csv(tmp_path, [_row(0), _row(1)]), "BTC/EUR", ONE_MINUTE)
    with pytest.raises(DataError, match="holds only 2 bars, but warmup needs 3"):
        feed.warmup(3)


def _all_columns(chunks: Iterator[BarColumns]) -> tuple[list[int], list[float]]:
    seconds: list[int] = []
    closes: list[float] = []
    for chunk in chunks:
        seconds.extend(chunk.seconds.tolist())
        closes.extend(chunk.close.tolist())
    return seconds, closes


def test_a_replay_feed_names_its_file_by_digest_and_reads_the_same_bars_again(
    tmp_path: Path,
) -> None:
    path = write_replay(tmp_path / "c.csv", list(SyntheticMarket(seed=5, bars=9_000)))
    feed = replay_feed(path, "BTC/EUR", ONE_MINUTE)
    assert feed.reference is not None

    identity = dict(feed.reference.identify())
    again = _all_columns(open_replay(identity))

    assert identity == {
        "kind": "replay",
        "path": str(path.resolve()),
        "rows": 9_000,
        "timeframe": "1m",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert again == _all_columns(feed.reference.reopen())
    assert len(again[0]) == 9_000


def test_reading_a_named_file_again_refuses_a_changed_or_missing_file(tmp_path: Path) -> None:
    path = write_replay(tmp_path / "c.csv", list(SyntheticMarket(seed=5, bars=300)))
    identity = replay_identity(load_replay(path, ONE_MINUTE))

    path.write_text(path.read_text().replace(",", ", ", 1))
    with pytest.raises(DataError, match=r"changed since the run read it .*put the original back"):
        open_replay(identity)
    path.unlink()
    with pytest.raises(DataError, match=r"which is gone; .*put the file back"):
        open_replay(identity)


def test_prices_the_money_arithmetic_cannot_hold_are_refused_naming_file_and_row(
    tmp_path: Path,
) -> None:
    rows = [_row(0), _row(1, close=1e308, high=1e308), _row(2, close=1e-300, low=1e-300)]
    path = _csv(tmp_path, rows)
    with pytest.raises(DataError) as caught:
        load_replay(path, ONE_MINUTE)
    message = str(caught.value)
    assert message.startswith(f"{path}: 2 malformed candle(s): row 2: bad candle at ")
    assert "open must be from 1e-12 to 1e+12 (the prices that orders and the ledger keep " in (
        message
    )
    assert "was 1e+308; row 3: bad candle at 2024-01-01T00:02:00+00:00: open must be from" in (
        message
    )
    assert message.endswith("was 1e-300")


def test_a_file_mixing_unix_and_iso_times_is_told_so(tmp_path: Path) -> None:
    rows = ["1704067200,100,101,99,100,1", "2024-01-01T00:01:00Z,100,101,99,100,1"]
    with pytest.raises(DataError) as caught:
        load_replay(_csv(tmp_path, rows), ONE_MINUTE)
    assert str(caught.value).endswith(
        "row 2: time '2024-01-01T00:01:00Z' is ISO-8601 text, but row 1 has Unix time; write "
        "every time of a file the same way"
    )
