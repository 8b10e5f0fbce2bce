"""A journal that cannot be written, or that is damaged: the run ends cleanly, nothing lies.

A full disk is made real with RLIMIT_FSIZE: past the limit every write of the process fails
with EFBIG (Python ignores SIGXFSZ), as writes on a full disk fail with ENOSPC.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal

REPO = Path(__file__).parents[2]
CONFIG = REPO / "config" / "config.toml"


def _file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def _peak(tmp_path: Path, *args: str, limit: int) -> subprocess.CompletedProcess[str]:
    """Run `peak-trade ARGS` in `tmp_path`, its files limited to `limit` bytes."""
    command = [sys.executable, "-m", "peak_trade.cli.main", *args]
    command += ["--config", str(CONFIG), "--json", "--log-level", "WARNING"]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
        preexec_fn=_file_size_limit(limit),
    )


def test_a_full_disk_ends_the_run_with_exit_1_and_a_summary_of_what_the_journal_holds(
    tmp_path: Path,
) -> None:
    # Act: the journal's write-ahead log may grow to 1 MB, a few hundred one-bar steps
    session = ["session", "--data", "synthetic", "--steps", "5000", "--no-sleep"]
    files = ["--journal", str(tmp_path / "j.sqlite"), "--run-id", "full", "--report-dir", "report"]
    result = _peak(tmp_path, *session, *files, limit=1_000_000)

    # Assert: exit 1, one line naming the journal and the cause, no traceback
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"peak-trade: failed: cannot write the journal {tmp_path}/j")
    assert "disk" in last or "full" in last
    # the summary counts the bars the journal holds, and so does the report
    summary = json.loads(result.stdout)
    with Journal(tmp_path / "j.sqlite") as journal:
        journaled = SessionRecorder(journal, "full").bars()
    assert 0 < summary["metrics"]["steps"] == len(journaled) < 5000
    assert summary["stop_reason"] == last.removeprefix("peak-trade: failed: ")
    lines = (tmp_path / "report" / "equity.csv").read_text().splitlines()
    assert len(lines) - 1 == len(journaled)
    saved = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert saved["metrics"]["steps"] == len(journaled)
    assert saved["ledger"] == summary["ledger"]


def test_a_report_the_disk_cannot_hold_leaves_no_folder_and_says_so(tmp_path: Path) -> None:
    # Arrange: a backtest journals its quiet bars by reference, so the journal stays small
    # while its report of 20,000 bars does not fit
    journal = ["--journal", str(tmp_path / "bt.sqlite")]
    # Act
    result = _peak(
        tmp_path,
        *("backtest", "--data", "synthetic", "--bars", "20000", *journal),
        *("--report-dir", str(tmp_path / "report")),
        limit=400_000,
    )
    # Assert
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot write the report into {tmp_path}/report: File too large" in result.stderr
    assert not (tmp_path / "report").exists()


def test_a_backtest_on_a_full_disk_sums_up_what_its_journal_holds(tmp_path: Path) -> None:
    files = ["--journal", str(tmp_path / "bt.sqlite"), "--run-id", "bt"]
    backtest = ["backtest", "--data", "synthetic", "--bars", "200000"]
    result = _peak(tmp_path, *backtest, *files, limit=300_000)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"peak-trade: failed: cannot write the journal {tmp_path}/bt.sqlite: disk I/O error"
    )
    summary = json.loads(result.stdout)
    with Journal(tmp_path / "bt.sqlite", read_only=True) as journal:
        journaled = SessionRecorder(journal, "bt").bars()
    assert 0 < summary["metrics"]["steps"] == len(journaled) < 200_000
    assert summary["kind"] == "backtest"
