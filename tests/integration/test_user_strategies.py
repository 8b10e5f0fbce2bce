"""A user's own strategy file: loaded from --strategy-path or [strategies] paths, listed,
backtested and swept like a built-in one; a file that breaks the contract is refused with
its file, line and what was expected (exit 2)."""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peak_trade.testing.cli import journaled, run_peak

EXAMPLE = Path(__file__).parents[2] / "examples" / "strategies" / "channel_breakout.py"
# a strategy written as docs/strategies.md shows: no parameters, a fixed warmup
_SIMPLE = """
import peak_trade


class EveryOther(peak_trade.Strategy):
    key = "every_other"
    description = "long for 20 bars, flat for 20"
    required_bars = 3

    def __init__(self, params):
        super().__init__(params)
        self.bars = 0

    def update(self, open_, high, low, close, volume):
        self.bars += 1
        return {bad} if self.bars > {after} else int(self.bars % 40 < 20)
"""


def _strategy(folder: Path, name: str = "every_other.py", bad: int = 1, after: int = 10**9) -> Path:
    path = folder / name
    path.write_text(_SIMPLE.format(bad=bad, after=after))
    return path


def _run_backtest(
    tmp_path: Path, *extra: str, config: str = ""
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "peak.toml").write_text(config)
    return run_peak(
        "backtest",
        "--config",
        str(tmp_path / "peak.toml"),
        "--data",
        "synthetic",
        "--bars",
        "3000",
        "--json",
        "--journal",
        str(tmp_path / "j.sqlite"),
        "--report-dir",
        str(tmp_path / "report"),
        *extra,
        cwd=tmp_path,
    )


def _backtest(tmp_path: Path, *extra: str, config: str = "") -> dict[str, object]:
    done = _run_backtest(tmp_path, *extra, config=config)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = json.loads(done.stdout)
    return summary


def test_the_example_file_backtests_and_its_parameters_come_from_the_config(
    tmp_path: Path,
) -> None:
    flag = ("--strategy", "channel_breakout", "--strategy-path", str(EXAMPLE))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    default = _backtest(tmp_path / "a", *flag)
    tighter = _backtest(
        tmp_path / "b", *flag, config="[strategy.channel_breakout]\nentry_bars = 5\nexit_bars = 3\n"
    )
    trades = [s["metrics"]["orders_executed"] for s in (default, tighter)]  # type: ignore[index]
    assert all(t > 0 for t in trades)
    assert trades[1] > trades[0]  # shorter channels break out more often
    assert default["config"]["strategy_key"] == "channel_breakout"  # type: ignore[index]


def test_config_paths_are_read_relative_to_the_config_file(tmp_path: Path) -> None:
    strategies = tmp_path / "mine"
    strategies.mkdir()
    _strategy(strategies)
    summary = _backtest(
        tmp_path, "--strategy", "every_other", config='[strategies]\npaths = ["mine"]\n'
    )
    assert summary["metrics"]["orders_executed"] > 50  # type: ignore[index]


def test_strategies_lists_a_user_strategy_with_its_file(tmp_path: Path) -> None:
    path = _strategy(tmp_path)
    done = run_peak("strategies", "--strategy-path", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "every_other" in line)
    assert "user" in line
    assert str(path.resolve()) in line
    assert "9 strategies" in done.stdout  # the eight built-in ones beside it


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import peak_trade\nx = 1 / 0\n", "broken.py:2: ZeroDivisionError"),
        ("import peak_trade\nclass A(peak_trade.Strategy)\n", "broken.py:2: SyntaxError"),
        ("x = 1\n", "defines no strategy; expected a subclass of peak_trade.Strategy"),
        (
            _SIMPLE.format(bad=1, after=1).replace("every_other", "ma_crossover"),
            "the key 'ma_crossover' is taken by a built-in strategy",
        ),
        (
            _SIMPLE.format(bad=1, after=1).replace("required_bars = 3", "required_bars = 0"),
            "required_bars must be a positive int, was 0",
        ),
        (
            _SIMPLE.format(bad=1, after=1).replace('key = "every_other"', 'key = "Every Other"'),
            "key must be a name of lowercase letters",
        ),
        (
            _SIMPLE.format(bad=1, after=1)
            + _SIMPLE.format(bad=1, after=1).replace("class EveryOther", "class Another"),
            "more than one strategy has the key 'every_other'",
        ),
    ],
)
def test_a_file_that_breaks_the_contract_is_refused_with_its_file_and_line(
    tmp_path: Path, source: str, expected: str
) -> None:
    (tmp_path / "broken.py").write_text(source)
    done = run_peak("strategies", "--strategy-path", str(tmp_path / "broken.py"), cwd=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr
    assert str(tmp_path / "broken.py") in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_path_and_a_table_of_no_strategy_are_refused(tmp_path: Path) -> None:
    done = run_peak("strategies", "--strategy-path", "nowhere.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "strategy path nowhere.py does not exist" in done.stderr
    _strategy(tmp_path)
    done = _run_backtest(
        tmp_path,
        "--strategy",
        "every_other",
        "--strategy-path",
        "every_other.py",
        config="[strategy.every_othr]\nlength = 3\n",
    )
    assert done.returncode == 2
    assert "[strategy.every_othr] names no strategy; did you mean 'every_other'" in done.stderr


def test_a_target_outside_its_three_values_ends_the_run_with_the_file_and_line(
    tmp_path: Path,
) -> None:
    path = _strategy(tmp_path, bad=2, after=500)
    done = _run_backtest(
        tmp_path, "--strategy", "every_other", "--strategy-path", str(path), "--warmup-candles", "5"
    )
    assert done.returncode == 2
    update = (
        path.read_text()
        .splitlines()
        .index("    def update(self, open_, high, low, close, volume):")
    )
    assert f"strategy every_other ({path}:{update + 1}) returned target 2" in done.stderr
    assert "expected -1, 0 or 1" in done.stderr
    assert (tmp_path / "report" / "summary.json").is_file()  # the bars before it, reported


def test_a_sweep_loads_the_file_in_every_worker(tmp_path: Path) -> None:
    (tmp_path / "peak.toml").write_text("")
    done = run_peak(
        "sweep",
        "--config",
        "peak.toml",
        "--strategy",
        "channel_breakout",
        "--strategy-path",
        str(EXAMPLE),
        "--grid",
        "entry_bars=5,20",
        "--grid",
        "exit_bars=3,10",
        "--data",
        "synthetic",
        "--bars",
        "3000",
        "--workers",
        "2",
        "--report-dir",
        "sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    with (tmp_path / "sweep" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["entry_bars"], r["exit_bars"]) for r in rows) == [
        ("20", "10"),
        ("20", "3"),
        ("5", "10"),
        ("5", "3"),
    ]
    assert all(int(r["trades"]) > 0 for r in rows)


def test_a_session_resumes_after_kill_9_and_reconciles(tmp_path: Path) -> None:
    # Arrange: a shadow session of the example strategy, once whole and once killed part-way
    (tmp_path / "peak.toml").write_text("[strategy.channel_breakout]\nentry_bars = 5\n")
    loaded = ("--config", "peak.toml", "--strategy-path", str(EXAMPLE))
    common = (*loaded, "--data", "synthetic", "--seed", "4", "--no-sleep", "--no-registry")
    run = ("session", "--strategy", "channel_breakout", *common, "--steps", "20000")
    whole = run_peak(*run, "--run-id", "whole", "--journal", "ref.sqlite", "--json", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    journal = tmp_path / "crash.sqlite"
    crash = ("--run-id", "crash", "--journal", str(journal))
    process = subprocess.Popen(
        [sys.executable, "-m", "peak_trade.cli.main", *run, *crash],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while journaled(journal, "crash", "bar", "fill") < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    # Act: kill it, resume it (the file given again), and reconcile it with its backtest
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_at = journaled(journal, "crash", "bar", "fill")
    resume = ("session", "--resume", "crash", "--journal", str(journal), "--config", "peak.toml")
    resumed = run_peak(*resume, "--json", "--strategy-path", str(EXAMPLE), cwd=tmp_path)
    check = ("reconcile", "crash", "--journal", str(journal), "--json")
    reconciled = run_peak(*check, "--strategy-path", str(EXAMPLE), cwd=tmp_path)
    without_file = run_peak(*resume, cwd=tmp_path)
    # Assert
    assert process.returncode == -signal.SIGKILL
    assert 200 <= killed_at < journaled(tmp_path / "ref.sqlite", "whole", "bar", "fill")
    assert resumed.returncode == 0, resumed.stderr
    reference, after = json.loads(whole.stdout), json.loads(resumed.stdout)
    assert after["ledger"] == reference["ledger"]
    assert after["metrics"]["orders_executed"] == reference["metrics"]["orders_executed"] > 10
    assert reconciled.returncode == 0, reconciled.stderr
    assert json.loads(reconciled.stdout)["differences"] == []
    assert without_file.returncode == 2
    assert "unknown strategy 'channel_breakout'" in without_file.stderr


def test_survey_runs_a_user_strategy_beside_a_built_in_one(tmp_path: Path) -> None:
    (tmp_path / "peak.toml").write_text("")
    flags = ("--config", "peak.toml", "--strategy-path", str(EXAMPLE), "--bars", "2000")
    done = run_peak(
        "survey", "-s", "channel_breakout", "-s", "ma_crossover", *flags, "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    rows = {row["strategy"]: row for row in json.loads(done.stdout)["rows"]}
    assert rows["channel_breakout"]["tier"] == "user"
    assert rows["channel_breakout"]["required_bars"] == 21  # max(20, 10) + 1
    assert rows["channel_breakout"]["entries"] > 0
    assert rows["ma_crossover"]["tier"] == "core"


def test_a_strategy_file_changed_since_the_run_started_is_said_on_resume_and_reconcile(
    tmp_path: Path,
) -> None:
    # Arrange: a session of a copy of the example, stopped after 300 bars
    mine = tmp_path / "mine.py"
    mine.write_text(EXAMPLE.read_text())
    (tmp_path / "peak.toml").write_text("")
    loaded = ("--config", "peak.toml", "--strategy-path", str(mine), "--journal", "j.sqlite")
    first = ("session", "--strategy", "channel_breakout", "--data", "synthetic", "--no-sleep")
    started = run_peak(*first, *loaded, "--steps", "300", "--run-id", "r", cwd=tmp_path)
    before = hashlib.sha256(mine.read_bytes()).hexdigest()

    # Act: edit the file, then resume the run and reconcile it
    mine.write_text(EXAMPLE.read_text() + "\n# tuned later\n")
    after = hashlib.sha256(mine.read_bytes()).hexdigest()
    resumed = run_peak("session", "--resume", "r", *loaded, "--steps", "100", cwd=tmp_path)
    reconciled = run_peak(
        "reconcile",
        "r",
        "--config",
        "peak.toml",
        "--journal",
        "j.sqlite",
        "--strategy-path",
        str(mine),
        cwd=tmp_path,
    )

    # Assert
    assert started.returncode == 0, started.stderr
    assert resumed.returncode == 0, resumed.stderr
    said = f"[strategy_file] sha256 '{before}' → '{after}'"
    assert f"run r: its strategy file changed since it started ({said})" in resumed.stderr
    assert reconciled.returncode == 0, reconciled.stderr
    assert said in reconciled.stdout
