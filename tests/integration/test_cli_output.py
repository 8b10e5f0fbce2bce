"""What commands write to the terminal: a progress bar that counts bars, however many a step
takes at once, log lines printed above it rather than into it, a quiet stop when the reader of
their output goes away, and misspelt flags named with the nearest real one."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from peak_trade.cli.arguments import log_handler
from peak_trade.cli.main import build_parser
from peak_trade.cli.session_output import progress_callback, status_line
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner

BAR = Bar(datetime(2024, 1, 1, tzinfo=UTC), 100.0, 101.0, 99.0, 100.0, 1.0)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so that the bar is drawn into it."""

    def isatty(self) -> bool:
        return True


def _drawn(total: int, start: int, steps: list[int]) -> str:
    screen = Terminal()
    with progress_callback(total, start=start, stream=screen) as show:
        assert show is not None
        for step in steps:
            show(step, BAR)
    return screen.getvalue()


def test_the_bar_follows_the_step_count_when_quiet_runs_take_many_bars_at_once() -> None:
    # a backtest reports a run of 400 quiet bars as one step of the count
    assert "1000/1000" in _drawn(1_000, 0, [1, 401, 402, 1_000])


def test_a_resumed_run_counts_from_the_bars_it_replayed() -> None:
    assert "50/50" in _drawn(50, 120, [121, 150, 170])


def test_a_log_line_during_the_bar_is_printed_on_a_line_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: logging as the commands set it up, a terminal as stderr
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    logger = logging.getLogger("peak_trade.test_progress")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(log_handler())

    # Act
    with progress_callback(100, stream=screen) as show:
        assert show is not None
        show(40, BAR)
        logger.warning("halted")
        show(100, BAR)

    # Assert: the bar's line is cleared before the log line, which ends its own line
    text = screen.getvalue()
    at = text.index("WARNING halted")
    line_start = text.rfind("\n", 0, at) + 1
    before = text[line_start:at]
    assert "\x1b[2K" in before or before.strip() == ""
    assert "40/100" not in before.split("\x1b[2K")[-1]
    assert text[text.index("halted", at) + len("halted")] == "\n"


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal() -> None:
    with progress_callback(10, stream=io.StringIO()) as show:
        assert show is None


def test_a_reader_that_goes_away_stops_the_command_without_a_traceback() -> None:
    command = [sys.executable, "-m", "peak_trade.cli.main", "strategies"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.close()  # as `| head` does once it has what it wants
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # the typo, not the missing --synthetic it leaves, is what is wrong
        (["backtest", "--synthetc"], "unrecognized argument --synthetc; did you mean --synthetic?"),
        (["session", "--stepz", "5"], "unrecognized argument --stepz; did you mean --steps?"),
        (["backtest", "--data", "synthetic", "--barz=5"], "did you mean --bars?"),
        (["--verbose", "strategies"], "unrecognized argument --verbose"),
        # a flag of another command is named as such, not matched to a look-alike
        (
            ["backtest", "--data", "synthetic", "--metric", "x"],
            "--metric; it is a flag of peak-trade sweep",
        ),
        (["backtest", "--metric", "x"], "--metric; it is a flag of peak-trade sweep"),
        (
            ["backtest", "--data", "synthetic", "--resume", "r"],
            "it is a flag of peak-trade session",
        ),
        # and a misspelt choice, after argparse's list of them
        (
            ["sweep", "--grid", "fast_window=5", "--data", "synthetic", "--metric", "sharp"],
            "'sharpe'?",
        ),
        (
            ["session", "--mode", "shadw"],
            "(choose from 'shadow', 'testnet'); did you mean 'shadow'?",
        ),
        (
            ["backtest", "--data", "synthetic", "--fill-price", "nxt_open"],
            "did you mean 'next_open'?",
        ),
    ],
)
def test_a_misspelt_flag_or_choice_is_named_with_the_nearest_real_one(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_log_levels_are_taken_in_any_case() -> None:
    for command in (
        ["session"],
        ["backtest", "--data", "synthetic"],
        ["reconcile", "r"],
        ["survey"],
    ):
        args = build_parser().parse_args([*command, "--log-level", "debug"])
        assert args.log_level == "DEBUG"


def test_abbreviated_flags_still_work() -> None:
    args = build_parser().parse_args(["backtest", "--synth", "--bars", "300", "--warmup", "10"])
    assert (args.synthetic, args.bars, args.warmup_candles) == (True, 300, 10)


def test_the_first_run_that_compiles_the_kernels_says_so_and_the_next_does_not(
    tmp_path: Path,
) -> None:
    # a cache folder of one's own ($NUMBA_CACHE_DIR), empty: this run compiles every kernel
    cache = tmp_path / "numba-cache"
    (tmp_path / "peak.toml").write_text("")
    run = (
        "backtest",
        "--config",
        "peak.toml",
        "--data",
        "synthetic",
        "--bars",
        "2000",
        "--journal",
        "j.sqlite",
        "--report-dir",
        "report",
    )
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}

    def backtest(run_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "peak_trade.cli.main", *run, "--run-id", run_id],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first, second = backtest("first"), backtest("second")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    note = f"compiling the trading kernels once (10 to 20 s); later runs load them from {cache}"
    assert note in first.stderr
    assert "compiling" not in second.stderr
    assert any(cache.iterdir())  # where the second run loaded them from


def test_a_run_with_no_end_shows_a_status_line_not_a_bar() -> None:
    screen = Terminal()
    told = iter(["equity 10,000.00 EUR | active", "equity 10,012.50 EUR | reducing"])
    with progress_callback(None, stream=screen, describe=lambda: next(told)) as show:
        assert show is not None
        show(1, BAR)
        show(2, BAR)
    text = screen.getvalue()
    assert "equity 10,012.50 EUR | reducing" in text
    assert "━" not in text  # no bar: a run of unknown length has no end to fill towards


def test_the_status_line_tells_the_account_and_the_next_poll() -> None:
    config = LiveSessionConfig(data_source="synthetic", synthetic_bars=400, run_id="s")
    runner = LiveSessionRunner.from_config(config, PeakConfig.default())
    runner.warmup()
    runner.run_n_steps(150, sleep_between=False)
    line = status_line(runner)
    assert re.fullmatch(
        r"s: bar 2024-01-01 \d\d:\d\d \| equity [\d,]+\.\d\d EUR \| [\d.]+ BTC \| active \| "
        r"next poll by \d\d:\d\d:\d\d",
        line,
    ), line
