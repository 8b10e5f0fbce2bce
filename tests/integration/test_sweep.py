"""Sweeps run the same backtests in parallel as one after another, and write ranked results."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peak_trade.backtest.sweep import build_tasks, parse_grid, run_sweep, run_task
from peak_trade.core.peak_config import PeakConfig
from peak_trade.testing.cli import run_peak

REPO = Path(__file__).parents[2]
SESSION = {
    "data_source": "synthetic",
    "synthetic_bars": 3_000,
    "warmup_candles": None,
    "strategy_key": "ma_crossover",
    "run_id": "sweep",
    "seed": 5,
}
GRID = ["fast_window=10,20,30", "slow_window=50,100,200"]


def test_parallel_sweep_equals_the_same_backtests_one_by_one() -> None:
    tasks = build_tasks("ma_crossover", parse_grid(GRID), PeakConfig.default(), SESSION)
    parallel = run_sweep(tasks, workers=2)
    sequential = [run_task(task) for task in tasks]
    assert parallel == sequential
    assert len({row["final_equity"] for row in parallel}) > 1
    assert all(row["bars"] == 3_000 - 201 for row in parallel)


# A 3x3 grid of ma_crossover over 3,000 synthetic bars.
SWEEP = (
    "sweep",
    "--config",
    str(REPO / "config" / "config.toml"),
    "--data",
    "synthetic",
    "--bars",
    "3000",
    "--seed",
    "5",
    *(arg for item in GRID for arg in ("--grid", item)),
)


def test_sweep_command_writes_a_ranked_table_and_a_heatmap(tmp_path: Path) -> None:
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "notes.txt").write_text("mine")  # a file of the user's, kept
    done = run_peak(
        *SWEEP,
        "--workers",
        "2",
        "--report-dir",
        str(tmp_path / "sweep"),
        "--metric",
        "total_return_pct",
        "--json",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)["results"]
    returns = [row["total_return_pct"] for row in ranked]
    assert returns == sorted(returns, reverse=True)
    with (tmp_path / "sweep" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["rank"]) for r in rows] == list(range(1, 10))
    assert [(int(r["fast_window"]), int(r["slow_window"])) for r in rows] == [
        (row["fast_window"], row["slow_window"]) for row in ranked
    ]
    assert (tmp_path / "sweep" / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "sweep" / "notes.txt").read_text() == "mine"


def test_a_sweep_too_short_for_annualised_figures_ranks_by_return_and_says_so(
    tmp_path: Path,
) -> None:
    # 3,000 1m bars span two days: every Sharpe is undefined, and a ranking by it was arbitrary
    done = run_peak(*SWEEP, "--workers", "2", "--report-dir", "s", cwd=tmp_path, timeout=300)
    as_json = run_peak(*SWEEP, "--workers", "2", "--report-dir", "s", "--json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Sweep ranked by total_return_pct (9 backtests)" in done.stdout
    note = (
        "ranked by total_return_pct: sharpe needs 30 days of data to be annualised, and this "
        "data spans 1.9"
    )
    assert f"note: {note}" in " ".join(done.stdout.split())
    found = json.loads(as_json.stdout)
    assert (found["metric"], found["metric_note"]) == ("total_return_pct", note)
    returns = [row["total_return_pct"] for row in found["results"]]
    assert returns == sorted(returns, reverse=True)
    assert {row["sharpe"] for row in found["results"]} == {None}
    assert all(row["span_days"] == pytest.approx(2_799 / 1_440) for row in found["results"])


def test_a_parameter_that_changes_nothing_is_named(tmp_path: Path) -> None:
    # breakout reads atr_lookback only with its ATR filter, which is off by default
    grid = ("--grid", "lookback_breakout=10,30", "--grid", "atr_lookback=7,14")
    config = ("--config", str(REPO / "config" / "config.toml"))
    common = (
        "sweep",
        *config,
        "--strategy",
        "breakout",
        *grid,
        "--data",
        "synthetic",
        "--bars",
        "3000",
    )
    where = ("--workers", "1", "--report-dir", str(tmp_path / "sweep"))

    printed = run_peak(*common, *where, cwd=tmp_path, timeout=300)
    as_json = run_peak(*common, *where, "--json", cwd=tmp_path, timeout=300)

    assert printed.returncode == 0, printed.stderr
    assert "note: atr_lookback made no difference" in printed.stdout
    assert "lookback_breakout made no difference" not in printed.stdout
    assert json.loads(as_json.stdout)["inert_parameters"] == ["atr_lookback"]


def test_a_sweep_on_a_local_ray_instance_gives_the_same_table(tmp_path: Path) -> None:
    def sweep(*where: str, folder: str) -> list[dict[str, str]]:
        done = run_peak(
            *SWEEP,
            *where,
            "--report-dir",
            str(tmp_path / folder),
            cwd=tmp_path,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        with (tmp_path / folder / "results.csv").open() as handle:
            return list(csv.DictReader(handle))

    on_ray = sweep("--ray", "local", folder="ray")
    local = sweep("--workers", "2", folder="local")
    assert len(on_ray) == 9
    assert on_ray == local


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nobody listens there


@pytest.mark.parametrize(
    ("address", "code", "message"),
    [
        (f"127.0.0.1:{_free_port()}", 1, "cannot reach the Ray cluster at 127.0.0.1:"),
        ("nonsense", 2, "--ray expects local, auto or HOST:PORT, was 'nonsense'"),
        ("localhost:70000", 2, "--ray expects local, auto or HOST:PORT"),
    ],
)
def test_a_ray_address_nobody_answers_on_fails_at_once_and_writes_nothing(
    tmp_path: Path, address: str, code: int, message: str
) -> None:
    done = run_peak(*SWEEP, "--ray", address, cwd=tmp_path, timeout=60)

    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def _children(pid: int) -> set[int]:
    """Return the processes whose parent is `pid` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time `pid` has used so far (0 once it is gone)."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_sweep_with_its_workers_and_writes_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # Arrange: a sweep whose points take many seconds each, running on two workers
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "peak_trade.cli.main", "sweep", "--data", "synthetic"),
            *("--config", str(REPO / "config" / "config.toml"), "--bars", "3000000"),
            *("--grid", "fast_window=10,20", "--workers", "2"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(process.pid)
    # each worker well into its grid point's backtest, where the runner used to catch the
    # worker's SIGTERM itself, stop that backtest early and wait for more work
    while min(map(_cpu_seconds, workers), default=0) < 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)

    # Act
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)

    # Assert: the parent used to die alone, its workers computing on for minutes
    assert len(workers) == 2
    assert process.returncode == 1
    assert f"the sweep was stopped by {sig.name} after 0 of 2 grid points; nothing was" in stderr
    assert "Traceback" not in stderr
    assert not any(_alive(pid) for pid in workers)
    assert not (tmp_path / "reports").exists()


def test_a_sweep_point_reports_the_same_statistics_as_its_backtest(tmp_path: Path) -> None:
    (task,) = build_tasks(
        "ma_crossover",
        parse_grid(["fast_window=20", "slow_window=50"]),
        PeakConfig.default(),
        SESSION | {"warmup_candles": 51, "timeframe": "1h"},  # 125 days: annualised figures
    )
    point = run_task(task)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    done = run_peak(
        "backtest",
        "--config",
        str(empty),
        "--data",
        "synthetic",
        "--bars",
        "3000",
        "--seed",
        "5",
        "--warmup-candles",
        "51",
        "--timeframe",
        "1h",
        "--json",
        "--journal",
        str(tmp_path / "j.sqlite"),
        "--report-dir",
        str(tmp_path / "report"),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["stats"]
    assert point["trades"] == report["trades"] > 5
    assert point["sharpe"] is not None
    for key in (
        "total_return_pct",
        "sharpe",
        "sortino",
        "max_drawdown_pct",
        "win_rate_pct",
        "profit_factor",
        "average_trade",
        "exposure_pct",
    ):
        assert point[key] == pytest.approx(report[key], rel=1e-9), key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "fast_windw=10"], "unknown key; did you mean 'fast_window'?"),
        (["--grid", "fast_window=60", "--grid", "slow_window=50"], "must be < slow_window"),
        (["--data-path", "a.csv", "--bars", "500", "--grid", "fast_window=5"], "--bars is for"),
        # the warmup is the grid's slowest need, 51 bars: a worker used to fail on it
        (["--bars", "40", "--grid", "fast_window=5,10"], "40 synthetic bars leave none to trade"),
    ],
)
def test_sweep_input_errors_exit_2_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    config = str(REPO / "config" / "config.toml")
    synthetic = [] if "--data-path" in args else ["--data", "synthetic", "--bars", "3000"]
    done = run_peak("sweep", "--config", config, *synthetic, *args, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no report folder


def test_a_point_that_went_reduce_only_says_so_and_no_risk_limits_turns_them_off(
    tmp_path: Path,
) -> None:
    # a drawdown limit of 1 % trips on most points of this grid within 20,000 bars
    (tmp_path / "tight.toml").write_text("[live_risk]\nmax_drawdown_pct = 1.0\n")
    common = (
        "sweep",
        "--config",
        "tight.toml",
        "--grid",
        "fast_window=5,10",
        "--data",
        "synthetic",
        "--bars",
        "20000",
        "--workers",
        "2",
        "--json",
    )
    limited = run_peak(*common, "--report-dir", "limited", cwd=tmp_path)
    free = run_peak(*common, "--no-risk-limits", "--report-dir", "free", cwd=tmp_path)
    assert limited.returncode == 0, limited.stderr
    assert free.returncode == 0, free.stderr
    rows = json.loads(limited.stdout)["results"]
    tripped = [r for r in rows if r["trading_state"] == "reducing"]
    assert tripped
    assert all("drawdown" in r["left_active_at"] for r in tripped)
    unlimited = json.loads(free.stdout)["results"]
    assert {r["trading_state"] for r in unlimited} == {"off"}
    assert all(r["left_active_at"] == "" for r in unlimited)
    # without the limit the rule keeps trading after the drawdown, so it trades more
    free_trades = {r["fast_window"]: r["trades"] for r in unlimited}
    assert all(free_trades[r["fast_window"]] > r["trades"] for r in tripped)
    with (tmp_path / "limited" / "results.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[-2:] == ["trading_state", "left_active_at"]
