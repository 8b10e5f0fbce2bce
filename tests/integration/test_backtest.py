"""`peak-trade backtest`: the session engine over history, identical to a shadow session."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from peak_trade.cli.session_output import print_summary
from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.journal.bars import BAR_KINDS, bar_rows, referenced_bars
from peak_trade.journal.store import Journal
from peak_trade.testing.cli import run_peak

REPO = Path(__file__).parents[2]
CONFIG = REPO / "config" / "config.toml"
LONG = "x" * 300  # a file name longer than a file system allows (255 bytes)


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bars")
    return write_replay(folder / "bars.csv", list(SyntheticMarket(seed=4, bars=6_000)))


def test_backtest_and_shadow_session_give_identical_fills_and_ledger(
    bars_file: Path, tmp_path: Path
) -> None:
    # Arrange / Act: the same replay data through a shadow session and through a backtest
    session = _json(
        run_peak(
            "session",
            "--config",
            str(CONFIG),
            "--data",
            "replay",
            "--data-path",
            str(bars_file),
            "--no-sleep",
            "--run-id",
            "shadow",
            "--json",
            "--no-registry",
            "--log-level",
            "WARNING",
            cwd=tmp_path,
        )
    )
    backtest = _json(
        run_peak(
            "backtest",
            "--config",
            str(CONFIG),
            "--data-path",
            str(bars_file),
            "--run-id",
            "backtest",
            "--json",
            cwd=tmp_path,
        )
    )
    # Assert
    assert backtest["metrics"]["orders_executed"] > 50
    assert backtest["ledger"] == session["ledger"]
    assert backtest["pipeline_summary"] == session["pipeline_summary"]
    assert backtest["stats"] == session["stats"]
    for name in ("trades.csv", "equity.csv"):  # equity.csv: equity and drawdown at every bar
        shadow, replayed = (
            (tmp_path / "reports" / run / name).read_text() for run in ("shadow", "backtest")
        )
        assert replayed == shadow, name
    assert backtest["metrics"]["steps"] == 6_000 - 200


def test_backtest_on_synthetic_bars_writes_report_with_stats(tmp_path: Path) -> None:
    summary = _json(
        run_peak(
            "backtest",
            "--config",
            str(CONFIG),
            "--data",
            "synthetic",
            "--bars",
            "3000",
            "--seed",
            "2",
            "--strategy",
            "macd",
            "--json",
            cwd=tmp_path,
        )
    )
    assert summary["metrics"]["steps"] == 2_800
    assert summary["kind"] == "backtest"
    # named by the wall clock, not by the backtest's clock, which starts in 1970
    assert re.fullmatch(r"backtest_macd_20\d{6}_\d{6}_[0-9a-f]{8}", summary["run_id"])
    stats = summary["stats"]
    assert stats["bars"] == 2_800
    assert stats["trades"] > 0
    report = tmp_path / summary["report_dir"]
    written = json.loads((report / "summary.json").read_text())
    assert written["kind"] == "backtest"
    saved = json.loads((report / "summary.json").read_text())
    assert saved["stats"] == stats
    assert (report / "equity.png").stat().st_size > 1000
    _position_reads_in_base_units(saved)
    _round_trips_pair_the_fills(report, summary)
    # 2,800 minutes are two days: nothing annualised
    assert stats["span_days"] == pytest.approx(2_800 / 1_440)
    assert (stats["cagr_pct"], stats["sharpe"], stats["sortino"]) == (None, None, None)


def _round_trips_pair_the_fills(report: Path, summary: dict[str, Any]) -> None:
    with (report / "trades.csv").open() as handle:
        fills = list(csv.DictReader(handle))
    with (report / "round_trips.csv").open() as handle:
        trips = list(csv.DictReader(handle))
    open_at_end = summary["open_at_end"]
    assert len(trips) == summary["stats"]["trades"] + open_at_end
    # one entry fill and one exit fill a trip (this run's sizing never adds to a position)
    closed = trips[:-1] if open_at_end else trips
    pairs = zip(fills[::2], fills[1::2], strict=False)
    for trip, (entry, leaving) in zip(closed, pairs, strict=True):
        assert (trip["side"], trip["entry_time"], trip["exit_time"]) == (
            "long",
            entry["time"],
            leaving["time"],
        )
        assert Decimal(trip["entry_price"]) == Decimal(entry["price"])
        assert Decimal(trip["exit_price"]) == Decimal(leaving["price"])
        assert Decimal(trip["fees"]) == Decimal(entry["fee"]) + Decimal(leaving["fee"])
        quantity = Decimal(entry["quantity"])
        assert quantity == Decimal(trip["quantity"]) == Decimal(leaving["quantity"])
        gross = quantity * (Decimal(leaving["price"]) - Decimal(entry["price"]))
        assert Decimal(trip["pnl"]) == gross - Decimal(trip["fees"])
        assert trip["exit_reason"] == "target flat"
    if open_at_end:
        assert trips[-1]["exit_reason"] == "end of data (still open)"


def _position_reads_in_base_units(summary: dict[str, Any]) -> None:
    # a flat position reads 0 whatever scale it carries; a held one loses only trailing zeros
    for stored, shown in (("0E-8", "0 BTC"), ("0.00000000", "0 BTC"), ("0.01230000", "0.0123 BTC")):
        summary["ledger"]["position"] = stored
        screen = io.StringIO()
        with redirect_stdout(screen):
            print_summary(summary)
        assert re.search(rf"position\s+│\s+{re.escape(shown)} │", screen.getvalue()), shown


def test_backtest_journal_is_the_same_byte_for_byte_on_a_rerun(
    bars_file: Path, tmp_path: Path
) -> None:
    rows = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        _json(
            run_peak(
                "backtest",
                "--config",
                str(CONFIG),
                "--data-path",
                str(bars_file),
                "--run-id",
                "same",
                "--json",
                cwd=folder,
            )
        )
        db = sqlite3.connect(folder / "journal" / "backtest.sqlite")
        rows.append(
            db.execute(
                "SELECT kind, ts_event, ts_init, payload FROM events ORDER BY seq"
            ).fetchall()
        )
        db.close()
    assert rows[0] == rows[1]
    # every bar of the file is in it: the warmup, then each traded bar (quiet runs by
    # reference to the file, read again beside the journal)
    with Journal(tmp_path / "a" / "journal" / "backtest.sqlite") as journal:
        warmup = next(journal.events("same", "warmup")).payload["bars"]
        source = referenced_bars(journal.events("same", "data_reference"))
        traded = list(bar_rows(journal.events("same", *BAR_KINDS), source))
    assert len(warmup) + len(traded) == 6_000
    assert traded[-1]["t"] == "2024-01-05T03:59:00+00:00"
    assert len(rows[0]) < len(traded)  # quiet bars share rows


def test_a_backtest_journals_its_file_by_digest_and_reconciles_until_the_file_changes(
    bars_file: Path, tmp_path: Path
) -> None:
    # Arrange: a backtest over a copy of the file
    data = tmp_path / "bars.csv"
    data.write_bytes(bars_file.read_bytes())
    args = ("--config", str(CONFIG), "--run-id", "bt")
    _json(run_peak("backtest", *args, "--data-path", str(data), "--json", cwd=tmp_path))
    journal_file = tmp_path / "journal" / "backtest.sqlite"
    with Journal(journal_file) as journal:
        reference = next(journal.events("bt", "data_reference")).payload["source"]
        quiet = [event.payload for event in journal.events("bt", "bars")]

    # Act: reconcile the run with its backtest, then again once a price in the file changed
    same = run_peak("reconcile", "bt", "--journal", str(journal_file), "--json", cwd=tmp_path)
    data.write_text(data.read_text().replace("\n2024-01-03T00:00:00", "\n2024-01-03T00:00:00 ", 1))
    changed = run_peak("reconcile", "bt", "--journal", str(journal_file), cwd=tmp_path)

    # Assert: the journal names the file by its digest, not by a copy of its quiet bars
    assert reference["kind"] == "replay"
    assert reference["path"] == str(data.resolve())
    assert reference["rows"] == 6_000
    assert len(reference["sha256"]) == 64
    assert sum(p["n"] for p in quiet) > 5_000
    assert all("columns" not in p for p in quiet)
    report = _json(same)
    assert report["bars"] == 6_000 - 200
    assert report["differences"] == []
    assert changed.returncode == 2
    assert "the file changed since the run read it" in changed.stderr


def _backtest_then_move_its_file(bars_file: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Backtest run `bt` over a copy of `bars_file`, then move the copy; return both places."""
    data = tmp_path / "bars.csv"
    data.write_bytes(bars_file.read_bytes())
    args = ("--config", str(CONFIG), "--run-id", "bt", "--data-path", str(data), "--json")
    _json(run_peak("backtest", *args, cwd=tmp_path))
    moved = tmp_path / "archive" / "bars.csv"
    moved.parent.mkdir()
    data.rename(moved)
    return data, moved


def test_a_backtest_whose_file_moved_reconciles_once_told_where_it_is(
    bars_file: Path, tmp_path: Path
) -> None:
    # Arrange: a backtest over a file that is then moved
    _, moved = _backtest_then_move_its_file(bars_file, tmp_path)
    journal = ("--journal", str(tmp_path / "journal" / "backtest.sqlite"))

    # Act
    lost = run_peak("reconcile", "bt", *journal, cwd=tmp_path)
    found = run_peak("reconcile", "bt", *journal, "--data-path", str(moved), "--json", cwd=tmp_path)

    # Assert: the journal names the old place; the new one is taken once its digest matches
    assert lost.returncode == 2
    assert "which is gone" in lost.stderr
    assert "reconcile --data-path" in lost.stderr
    assert _json(found)["differences"] == []


def test_a_backtest_resumed_from_its_journal_reads_its_data_again_and_reports_the_same(
    tmp_path: Path,
) -> None:
    # Arrange: a finished synthetic backtest, its report kept aside
    args = ("--config", str(CONFIG), "--data", "synthetic", "--bars", "3000", "--run-id", "bt")
    _json(run_peak("backtest", *args, "--json", cwd=tmp_path))
    report = tmp_path / "reports" / "bt"
    before = {name: (report / name).read_bytes() for name in ("equity.csv", "trades.csv")}

    # Act: resume it; the quiet bars come back from the regenerated market
    journal = tmp_path / "journal" / "backtest.sqlite"
    again = ("--resume", "bt", "--journal", str(journal), "--config", str(CONFIG), "--json")
    resumed = run_peak("session", *again, cwd=tmp_path)

    # Assert: nothing was left to trade, and the report written again is the same
    summary = _json(resumed)
    assert summary["metrics"]["steps"] == 3000 - 200
    assert {name: (report / name).read_bytes() for name in before} == before
    assert (
        "run bt had finished (the feed has no more bars): nothing is left to run, so its report "
        "is written again\n" in resumed.stderr
    )


def test_a_backtest_whose_file_moved_resumes_once_told_where_it_is(
    bars_file: Path, tmp_path: Path
) -> None:
    # Arrange: a finished backtest over a file, its report kept aside; then the file moves
    data, moved = _backtest_then_move_its_file(bars_file, tmp_path)
    before = (tmp_path / "reports" / "bt" / "equity.csv").read_bytes()
    journal = tmp_path / "journal" / "backtest.sqlite"
    again = ("--resume", "bt", "--journal", str(journal), "--config", str(CONFIG), "--json")
    written = journal.read_bytes()

    # Act
    lost = run_peak("session", *again, cwd=tmp_path)
    unchanged = journal.read_bytes()
    found = run_peak(
        "session", *again, "--data-path", str(moved), "--report-dir", "r", cwd=tmp_path
    )

    # Assert: refused with what to do, the journal untouched; then read from the new place
    assert lost.returncode == 2
    assert f"run bt replays {data}, which is not there now" in lost.stderr
    assert "--data-path" in lost.stderr
    assert unchanged == written
    assert _json(found)["metrics"]["steps"] == 6_000 - 200
    assert (tmp_path / "r" / "equity.csv").read_bytes() == before


def test_resume_refuses_flags_that_would_change_the_run_and_leaves_the_journal_as_it_was(
    tmp_path: Path,
) -> None:
    # Arrange: a finished synthetic backtest
    args = ("--config", str(CONFIG), "--data", "synthetic", "--bars", "600", "--run-id", "bt")
    _json(run_peak("backtest", *args, "--json", cwd=tmp_path))
    journal = tmp_path / "journal" / "backtest.sqlite"
    written = journal.read_bytes()
    again = ("session", "--resume", "bt", "--journal", str(journal), "--config", str(CONFIG))

    # Act: flags a resume used to ignore, silently
    settings = run_peak(*again, "--strategy", "macd", "-t", "5m", "--fee-rate", "0", cwd=tmp_path)
    switch = run_peak(*again, "--no-risk-limits", cwd=tmp_path)
    path = run_peak(*again, "--data-path", "bars.csv", cwd=tmp_path)
    steps = run_peak(*again, "--steps", "5", cwd=tmp_path)

    # Assert
    assert settings.returncode == 2
    assert "--resume continues run bt with the settings it started with; --strategy, " in (
        settings.stderr
    )
    assert "--timeframe, --fee-rate cannot change them" in settings.stderr
    assert switch.returncode == 2
    assert "--no-risk-limits cannot change them" in switch.stderr
    assert path.returncode == 2
    assert "run bt reads synthetic data, not a file" in path.stderr
    assert steps.returncode == 2
    assert "run bt is a backtest, which runs to the end of its data when resumed" in steps.stderr
    assert journal.read_bytes() == written


def test_a_second_backtest_with_a_run_id_already_in_the_journal_exits_2_and_changes_nothing(
    tmp_path: Path,
) -> None:
    args = (
        "backtest",
        "--config",
        str(CONFIG),
        "--data",
        "synthetic",
        "--bars",
        "600",
        "--run-id",
        "r1",
    )
    first = _json(run_peak(*args, "--json", cwd=tmp_path))
    journal = tmp_path / "journal" / "backtest.sqlite"
    report = tmp_path / first["report_dir"]
    before = journal.read_bytes(), (report / "equity.csv").read_bytes()

    second = run_peak(*args, "--seed", "8", cwd=tmp_path)

    assert second.returncode == 2
    assert "already holds a run 'r1'; choose another --run-id or --journal" in second.stderr
    assert "Traceback" not in second.stderr
    assert (journal.read_bytes(), (report / "equity.csv").read_bytes()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no bars named: give --data synthetic (a generated market) or --data-path FILE"),
        (["--data", "replay"], "--data replay needs --data-path FILE"),
        (["--data", "synthetic", "--data-path", "a.csv"], "--data-path is read with --data"),
        (["--synthetic", "--data", "replay"], "--synthetic and --data replay name two sources"),
        (["--data", "synthetic", "--bars", "0"], "expected a whole number > 0, was 0"),
        (["--data-path", "missing.csv"], "replay file not found"),
        (["--data", "synthetic", "--strategy", "nope"], "unknown strategy 'nope'"),
        (
            ["--data", "synthetic", "--bars", "100"],
            "100 synthetic bars leave none to trade after the",
        ),
        (
            ["--data", "synthetic", "--bars", "300", "--warmup-candles", "300"],
            "300 synthetic bars leave none to trade after the warmup of 300 (the bars include "
            "the warmup); use --bars 301 or more",
        ),
        (["--data", "synthetic", "--symbol", "BTCEUR"], "expected BASE/QUOTE, e.g. BTC/EUR"),
        (["--data-path", "a.csv", "--bars", "500"], "--bars is for --data synthetic only"),
        (["--data-path", "a.csv", "--seed", "3", "--bars", "9"], "--bars and --seed are for"),
        (["--data", "synthetic", "--seed", "-1"], "--seed: expected a whole number from 0 to 9223"),
        (
            ["--data", "synthetic", "--seed", str(2**64)],
            "--seed: expected a whole number from 0 to",
        ),
        # names too long for the file system used to end in an OSError's traceback
        (
            ["--data", "synthetic", "--run-id", "r" * 300],
            "run_id may be at most 128 characters long",
        ),
        (
            ["--data", "synthetic", "--run-id", ""],
            "--run-id: expected a name for the run, was empty",
        ),
        # an empty --report-dir wrote the report into the current folder
        (
            ["--data", "synthetic", "--report-dir", ""],
            "argument --report-dir: expected a path, was empty",
        ),
        (["--data-path", ""], "argument --data-path: expected a path, was empty"),
        (["--data", "synthetic", "--journal", LONG + ".sqlite"], "cannot open the journal"),
        (["--data", "synthetic", "--report-dir", LONG], "cannot write the report into"),
        (["--data-path", LONG + ".csv"], "replay file not found"),
        (["--data", "synthetic", "--config", LONG + ".toml"], "config file not found"),
    ],
)
def test_backtest_input_errors_exit_2_and_leave_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_peak("backtest", "--config", str(CONFIG), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no journal, no report


def test_a_report_folder_keeps_the_journal_and_files_it_already_holds(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    base = ("backtest", "--config", str(CONFIG), "--data", "synthetic", "--bars", "600", "--json")
    here = ("--report-dir", ".", "--journal", "journal.sqlite")

    runs = [_json(run_peak(*base, *here, "--run-id", run, cwd=tmp_path)) for run in ("a", "b")]

    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "equity.csv",
        "equity.png",
        "journal.sqlite",
        "journal.sqlite.locks",  # the locks a run is held by while it runs
        "notes.txt",
        "round_trips.csv",
        "summary.json",
        "trades.csv",
    ]
    journal = Journal(tmp_path / "journal.sqlite")
    assert journal.run_ids() == ["a", "b"]  # both runs whole, the second report beside them
    assert json.loads((tmp_path / "summary.json").read_text())["run_id"] == "b"
    assert runs[1]["stats"]["trades"] == runs[0]["stats"]["trades"]


def test_a_report_folder_that_is_a_file_fails_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "report").write_text("a file")

    result = run_peak(
        "backtest",
        "--config",
        str(CONFIG),
        "--data",
        "synthetic",
        "--report-dir",
        "report",
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "report folder report is a file; expected a folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no journal was started
    assert (tmp_path / "report").read_text() == "a file"


def test_summary_table_and_hints_print_brackets_as_text(tmp_path: Path) -> None:
    # Arrange: limits so small that every entry is denied, which earns a hint naming [live_risk]
    text = CONFIG.read_text().replace("max_order_notional = 2000.0", "max_order_notional = 1.0", 1)
    assert "max_order_notional = 1.0" in text
    config = tmp_path / "tight.toml"
    config.write_text(text)

    # Act
    result = run_peak(
        "backtest", "--config", str(config), "--data", "synthetic", "--bars", "3000", cwd=tmp_path
    )

    # Assert: the section name survives the terminal formatting
    assert result.returncode == 0, result.stderr
    assert "orders were blocked by risk limits" in result.stdout
    assert "check [live_risk] or lower position_fraction" in result.stdout


def test_the_old_synthetic_flag_still_works_and_says_it_is_going(tmp_path: Path) -> None:
    old = run_peak(
        "backtest", "--config", str(CONFIG), "--synthetic", "--bars", "600", "--json", cwd=tmp_path
    )
    new = run_peak(
        "backtest",
        "--config",
        str(CONFIG),
        "--data",
        "synthetic",
        "--bars",
        "600",
        "--json",
        cwd=tmp_path,
    )
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert old.stderr.splitlines()[0] == (
        "peak-trade: --synthetic is deprecated and goes in the next release; use --data synthetic"
    )
    assert "deprecated" not in new.stderr
    assert json.loads(old.stdout)["ledger"] == json.loads(new.stdout)["ledger"]


def test_a_timerange_reads_part_of_a_file_and_the_run_reconciles_on_that_part(
    bars_file: Path, tmp_path: Path
) -> None:
    # the file holds 6,000 1m bars from 2024-01-01; the range takes 00:00 to 04:00 on day 3
    part = ("--timerange", "2024-01-03:2024-01-03T04:00")
    args = ("--config", str(CONFIG), "--data-path", str(bars_file), "--run-id", "tr")
    summary = _json(
        run_peak("backtest", *args, *part, "--warmup-candles", "60", "--json", cwd=tmp_path)
    )
    journal = tmp_path / "journal" / "backtest.sqlite"
    reconciled = run_peak("reconcile", "tr", "--journal", str(journal), "--json", cwd=tmp_path)
    with Journal(journal) as opened:
        reference = next(opened.events("tr", "data_reference")).payload["source"]

    assert summary["metrics"]["steps"] == 240 - 60
    assert summary["config"]["timerange"] == "2024-01-03:2024-01-03T04:00"
    rows = (tmp_path / "reports" / "tr" / "equity.csv").read_text().splitlines()
    times = [row.split(",")[0] for row in rows]
    assert (times[1], times[-1]) == ("2024-01-03T01:00:00+00:00", "2024-01-03T03:59:00+00:00")
    assert (reference["rows"], reference["timerange"]) == (240, [1704240000, 1704254400])
    report = _json(reconciled)
    assert (report["bars"], report["differences"]) == (180, [])


@pytest.mark.parametrize(
    ("timerange", "message"),
    [
        ("2024", "--timerange expects START:END (either may be empty), was '2024'"),
        ("2024-02-01:2024-01-01", "START must be before END"),
        ("2030-01-01:", "no candle opens in the --timerange (2030-01-01 00:00:00 UTC:); the file"),
    ],
)
def test_a_timerange_that_names_no_candles_is_refused(
    bars_file: Path, tmp_path: Path, timerange: str, message: str
) -> None:
    args = ("--config", str(CONFIG), "--data-path", str(bars_file), "--timerange", timerange)
    done = run_peak("backtest", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "reports").exists()
