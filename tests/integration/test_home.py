"""`peak-trade init` and the home folder: every command run from a folder below the one init
made, outside the repository, reads its config and keeps journals and reports there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from peak_trade.core.types import Timeframe
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.testing.cli import run_peak
from peak_trade.testing.kraken_emulator import KrakenEmulator

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[KrakenEmulator]:
    bars = list(SyntheticMarket(seed=3, bars=1_500, start=START))
    now = START + timedelta(minutes=1_500, seconds=5)
    with KrakenEmulator(bars, Timeframe("1m"), lambda: now) as running:
        yield running


def _ok(done: object) -> str:
    assert getattr(done, "returncode", None) == 0, getattr(done, "stderr", "")
    return str(getattr(done, "stdout", ""))


def test_every_command_works_from_below_a_folder_init_made(
    tmp_path: Path, emulator: KrakenEmulator
) -> None:
    # Arrange: a home made by init, its Kraken the emulator, and a folder two levels below it
    made = run_peak("init", "home", cwd=tmp_path)
    home = tmp_path / "home"
    config = home / "config.toml"
    config.write_text(config.read_text().replace("https://api.kraken.com", emulator.base_url, 1))
    work = home / "data" / "work"
    work.mkdir(parents=True)

    # Act and assert, command by command
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in home.iterdir()) == [
        ".env.example",
        "config.toml",
        "data",
        "portfolio.toml",
        "strategies",
    ]
    assert "channel_breakout  user" in _ok(run_peak("strategies", cwd=work))
    _ok(run_peak("download", "--since", "2024-01-01", "--out", "btc.csv", "--pace", "0", cwd=work))
    assert (work / "btc.csv.meta.json").is_file()  # a path given is read from where it is run
    backtest = json.loads(
        _ok(
            run_peak(
                "backtest",
                "--data-path",
                "btc.csv",
                "--strategy",
                "channel_breakout",
                "--json",
                cwd=work,
            )
        )
    )
    assert backtest["config"]["symbol"] == "BTC/EUR"
    assert (home / "reports" / backtest["run_id"] / "round_trips.csv").is_file()
    assert (home / "journal" / "backtest.sqlite").is_file()
    session = ("session", "--data", "synthetic", "--steps", "300", "--no-sleep", "--run-id", "s")
    _ok(run_peak(*session, "--strategy", "channel_breakout", cwd=work))
    assert (home / "journal" / "peak_trade.sqlite").is_file()
    assert (home / "reports" / "s" / "summary.json").is_file()
    assert "no difference" in _ok(run_peak("reconcile", "s", cwd=work))
    sweep = ("sweep", "--strategy", "channel_breakout", "--grid", "entry_bars=10,20")
    _ok(run_peak(*sweep, "--data", "synthetic", "--bars", "2000", "--workers", "1", cwd=work))
    assert len(list((home / "reports" / "sweeps").iterdir())) == 1
    assert "channel_breakout" in _ok(run_peak("survey", "--bars", "2000", cwd=work))
    portfolio = ("backtest", "--portfolio", "../../portfolio.toml", "--data", "synthetic")
    legs = json.loads(_ok(run_peak(*portfolio, "--bars", "3000", "--json", cwd=work)))["legs"]
    assert [(leg["name"], leg["weight"]) for leg in legs] == [
        ("channel_breakout:BTC/EUR", "0.5"),
        ("rsi_reversion:ETH/EUR", "0.25"),
        ("ma_crossover:SOL/EUR", "0.25"),
    ]
    assert legs[0]["params"] == {"entry_bars": 30}
    assert not (work / "journal").exists()
    assert not (work / "reports").exists()


def test_peak_trade_home_names_the_home_from_anywhere(tmp_path: Path) -> None:
    assert run_peak("init", "home", cwd=tmp_path).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PEAK_TRADE_HOME": str(tmp_path / "home")}

    done = run_peak(
        "backtest", "--data", "synthetic", "--bars", "600", "--run-id", "b", cwd=elsewhere, env=env
    )

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "reports" / "b" / "summary.json").is_file()
    assert list(elsewhere.iterdir()) == []


def test_without_a_config_anywhere_a_command_says_how_to_make_one(tmp_path: Path) -> None:
    done = run_peak("backtest", "--data", "synthetic", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"peak-trade: error: no config.toml in {tmp_path} (or a folder above it); make one "
        "with `peak-trade init`, or name one with --config FILE, $PEAK_TRADE_CONFIG_PATH or "
        "$PEAK_TRADE_HOME"
    )
    assert list(tmp_path.iterdir()) == []


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("# mine\n")
    done = run_peak("init", cwd=tmp_path)
    assert done.returncode == 2
    assert "config.toml already there; init writes a new folder and overwrites nothing" in (
        done.stderr
    )
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
    assert (tmp_path / "config.toml").read_text() == "# mine\n"
