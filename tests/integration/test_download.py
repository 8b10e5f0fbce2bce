"""`peak-trade download` against the loopback Kraken emulator: candles older than OHLC's 720
built from trades, resumed after a signal or kill -9, described for the replays that read them."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.candle_files import read_meta
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.testing.cli import run_peak, spawn_peak
from peak_trade.testing.kraken_emulator import KrakenEmulator
from peak_trade.testing.kraken_emulator.faults import parse_fault

START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 3_000  # all closed: OHLC serves the last 719, trades the 2,281 before


@pytest.fixture(scope="module")
def bars() -> list[Bar]:
    return list(SyntheticMarket(seed=5, bars=BARS, start=START))


@pytest.fixture
def emulator(bars: list[Bar]) -> Iterator[KrakenEmulator]:
    now = START + timedelta(minutes=BARS, seconds=5)
    with KrakenEmulator(bars, Timeframe("1m"), lambda: now) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, emulator: KrakenEmulator) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[exchange.kraken]\nbase_url = "{emulator.base_url}"\n')
    return path


def _download(config: Path, out: str, *extra: str) -> tuple[str, ...]:
    return ("download", "--config", str(config), "--since", "2024-01-01", "--out", out, *extra)


def test_candles_older_than_ohlc_are_built_from_trades(
    tmp_path: Path, config: Path, emulator: KrakenEmulator, bars: list[Bar]
) -> None:
    done = run_peak(*_download(config, "btc.csv", "--pace", "0"), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "btc.csv: 3,000 candles of BTC/EUR 1m from kraken, 2024-01-01T00:00:00+00:00 to "
        "2024-01-03T01:59:00+00:00 (3,000 new)"
    )
    frame = pd.read_csv(tmp_path / "btc.csv")
    assert list(frame["time"]) == [bar.time.isoformat() for bar in bars]
    for name in ("open", "high", "low", "close"):
        assert list(frame[name]) == [getattr(bar, name) for bar in bars], name
    assert list(frame["volume"]) == pytest.approx([bar.volume for bar in bars], rel=1e-12)
    assert {"/0/public/Trades", "/0/public/OHLC"} <= set(emulator.requests)
    assert emulator.requests.count("/0/public/Trades") >= 2281 * 4 // 1000  # paged
    meta = read_meta(tmp_path / "btc.csv")
    assert meta is not None
    assert (meta.exchange, meta.symbol, meta.timeframe) == ("kraken", "BTC/EUR", "1m")
    assert (meta.price_decimals, meta.lot_decimals, meta.min_order_size) == (1, 8, "0.00005")
    assert not list(tmp_path.glob("*.part*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill -9"])
def test_an_interrupted_download_goes_on_where_it_stopped(
    tmp_path: Path, config: Path, sig: signal.Signals
) -> None:
    # Arrange: the whole file, downloaded in one go
    whole = run_peak(*_download(config, "whole.parquet", "--pace", "0"), cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    slow = _download(config, "btc.parquet", "--pace", "0.3")

    # Act: stop it once the first pages are written, then run the same command again
    process = spawn_peak(*slow, cwd=tmp_path)
    part = tmp_path / "btc.parquet.part"
    deadline = time.monotonic() + 60
    while (not part.exists() or part.stat().st_size < 20_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    kept = part.read_text().count("\n") - 1  # whole rows (kill -9 may tear the last one)
    again = run_peak(*_download(config, "btc.parquet", "--pace", "0"), cwd=tmp_path)

    # Assert
    if sig is signal.SIGTERM:
        assert process.returncode == 1
        assert "stopped after" in stderr
        assert "the same command goes on from there" in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    assert 0 < kept < BARS
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith(f"({BARS - kept:,} new)")
    assert (tmp_path / "btc.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert not part.exists()


def test_a_rate_limit_is_waited_out_and_an_outage_leaves_a_download_to_resume(
    tmp_path: Path, config: Path, emulator: KrakenEmulator
) -> None:
    emulator.apply([parse_fault("rate_limit:2:Trades")])
    waited = run_peak(*_download(config, "a.csv", "--pace", "0"), cwd=tmp_path)
    assert waited.returncode == 0, waited.stderr
    assert waited.stderr.count("Kraken Trades: EAPI:Rate limit exceeded; trying again") == 2

    emulator.apply([parse_fault("service:5:Trades")])
    failed = run_peak(*_download(config, "b.csv", "--pace", "0"), cwd=tmp_path)
    assert failed.returncode == 1
    assert "failed: Kraken Trades: EService:Unavailable" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (tmp_path / "b.csv.part").exists()
    assert not (tmp_path / "b.csv").exists()
    resumed = run_peak(*_download(config, "b.csv", "--pace", "0"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "a.csv").read_text()


def test_a_downloaded_file_backtests_as_its_own_symbol(tmp_path: Path, config: Path) -> None:
    assert run_peak(*_download(config, "btc.parquet", "--pace", "0"), cwd=tmp_path).returncode == 0
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    backtest = ("backtest", "--config", str(empty), "--data-path", "btc.parquet")

    done = run_peak(*backtest, "--json", cwd=tmp_path)
    wrong = run_peak(*backtest, "--symbol", "ETH/EUR", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["config"]["symbol"], summary["config"]["timeframe"]) == ("BTC/EUR", "1m")
    assert summary["metrics"]["steps"] == BARS - 200
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "peak-trade: error: btc.parquet holds BTC/EUR 1m candles from kraken, but --symbol "
        "says ETH/EUR; leave --symbol out to read the file as what it is"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--out", "x.txt"), "--out must end in .csv or .parquet, was x.txt"),
        (("--exchange", "krakn", "--out", "x.csv"), "did you mean 'kraken'?"),
        (("--since", "yesterday", "--out", "x.csv"), "expected a date or an ISO time"),
        (("--until", "2023-01-01", "--out", "x.csv"), "--since must be before --until"),
        (("--pace", "-1", "--out", "x.csv"), "expected seconds from 0 to 60"),
    ],
)
def test_download_input_errors_exit_2_and_write_nothing(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    since = () if "--since" in args else ("--since", "2024-01-01")
    done = run_peak("download", *since, *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
