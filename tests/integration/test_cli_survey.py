"""`peak-trade` as a user runs it: a real subprocess, real exit codes, stdout and stderr."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

import peak_trade
from peak_trade.cli.main import main
from peak_trade.cli.survey import survey_strategies
from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.peak_config import load_config
from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.strategies.registry import create_strategy_from_config, get_available_strategy_keys
from peak_trade.testing.cli import run_peak

REPO = Path(__file__).parents[2]
CONFIG = REPO / "config" / "config.toml"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_peak(*args, cwd=REPO, timeout=120)


def test_survey_prints_a_row_for_every_strategy() -> None:
    result = _run("survey", "--bars", "5000", "--json", "--config", str(CONFIG))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [row["strategy"] for row in rows] == get_available_strategy_keys()
    for row in rows:
        assert row["bars"] == 5000
        assert row["target_changes"] > 0, f"{row['strategy']} never changed its target"
        assert 0 < row["time_in_market"] < 1


def test_survey_table_names_the_source() -> None:
    result = _run("survey", "--bars", "2000", "-s", "macd", "--config", str(CONFIG))
    assert result.returncode == 0, result.stderr
    assert "Strategy survey: BTC/EUR 1m (synthetic, seed 7)" in result.stdout
    assert "macd" in result.stdout


def test_a_strategy_named_twice_is_surveyed_once(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["survey", "--bars", "1000", "-s", "macd", "-s", "rsi_reversion", "-s", "macd"]
    assert main([*args, "--json", "--config", str(CONFIG)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [row["strategy"] for row in rows] == ["macd", "rsi_reversion"]


def test_survey_over_a_replay_file_uses_its_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_replay(tmp_path / "bars.csv", list(SyntheticMarket(seed=1, bars=800)))
    code = main(
        [
            "survey",
            "--data",
            "replay",
            "--data-path",
            str(path),
            "-s",
            "ma_crossover",
            "--json",
            "--config",
            str(CONFIG),
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["bars"] == 800


def test_unknown_strategy_exits_2_with_a_hint() -> None:
    result = _run("survey", "-s", "ma_crosover", "--config", str(CONFIG))
    assert result.returncode == 2
    assert "unknown strategy 'ma_crosover'; did you mean 'ma_crossover'?" in result.stderr
    assert result.stdout == ""


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[strategy.ma_crossover]\nfast_period = 10\n")
    result = _run("survey", "--config", str(bad))
    assert result.returncode == 2
    assert (
        "strategy.ma_crossover.fast_period: unknown key; did you mean 'fast_window'?"
        in result.stderr
    )


def test_replay_without_path_and_malformed_file_exit_2(tmp_path: Path) -> None:
    assert "--data replay needs --data-path" in _run("survey", "--data", "replay").stderr
    broken = tmp_path / "broken.csv"
    broken.write_text("time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,0.5,1,1,1\n")
    result = _run("survey", "--data", "replay", "--data-path", str(broken))
    assert result.returncode == 2
    assert "row 1: bad candle at 2024-01-01T00:00:00+00:00: high 0.5 is below" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-path", "bars.csv"], "--data-path is read with --data replay only"),
        (["--data", "replay", "--data-path", "bars.csv", "--seed", "3"], "--seed is for"),
        (["--seed", "-3"], "--seed: expected a whole number from 0 to"),
    ],
)
def test_a_file_or_seed_the_survey_would_not_use_exits_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    write_replay(tmp_path / "bars.csv", list(SyntheticMarket(seed=1, bars=300)))

    result = run_peak("survey", "--config", str(CONFIG), *args, cwd=tmp_path, timeout=120)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args", [["survey", "--bars", "0"], ["survey", "--timeframe", "2m"], ["nope"], []]
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert "error" in result.stderr


def test_strategies_lists_key_tier_and_description() -> None:
    result = _run("strategies")
    assert result.returncode == 0
    assert re.search(r"^  ma_crossover +core +SMA crossover", result.stdout, re.MULTILINE)
    assert f"{len(get_available_strategy_keys())} strategies" in result.stdout


def test_survey_counts_as_bar_by_bar_whatever_the_chunks() -> None:
    # Arrange: the same bars in one chunk and in uneven small ones
    cfg = load_config(CONFIG)
    keys = get_available_strategy_keys()
    bars = list(SyntheticMarket(seed=3, bars=3_000))
    whole = BarColumns.from_bars(bars)
    pieces = [whole.slice(start, start + 77) for start in range(0, len(bars), 77)]

    # Act
    at_once = survey_strategies(keys, [whole], cfg)
    in_pieces = survey_strategies(keys, pieces, cfg)

    # Assert: equal, and equal to counting one strategy's targets bar by bar
    assert at_once == in_pieces
    strategy = create_strategy_from_config("rsi_reversion", cfg)
    targets = [strategy.on_bar(bar) for bar in bars]
    changes = sum(t != p for t, p in zip(targets, [0, *targets[:-1]], strict=True))
    row = next(r for r in at_once if r.strategy == "rsi_reversion")
    assert (row.target_changes, row.bars) == (changes, 3_000)
    assert row.short_share == sum(t < 0 for t in targets) / 3_000
    assert changes > 10


def test_version_prints_the_installed_version() -> None:
    result = _run("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"peak-trade {metadata.version('peak-trade')}"
    assert peak_trade.__version__ == metadata.version("peak-trade")
