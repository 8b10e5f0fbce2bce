"""The end of a session or backtest run: its report, its session record, its summary."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peak_trade.cli.session_output import print_summary
from peak_trade.core.errors import JournalWriteError, SessionRuntimeError
from peak_trade.core.home import in_home
from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.bars import BAR_KINDS, bar_blocks
from peak_trade.journal.store import Journal
from peak_trade.report.writer import REPORT_KINDS, write_report, write_session_record
from peak_trade.session.runner import LiveSessionRunner

__all__ = [
    "finish_run",
    "finish_unjournaled",
    "report_target",
    "run_to_the_end",
    "show_summary",
]

_LOG = logging.getLogger("peak_trade.session")


def report_target(args: argparse.Namespace, run_id: str) -> Path:
    """Return the folder the run's report goes to."""
    path: Path = args.report_dir or in_home("reports") / run_id
    return path


def finish_run(
    runner: LiveSessionRunner, journal: Journal, args: argparse.Namespace
) -> dict[str, Any]:
    """Write the report (and the session record), close the journal, return the summary."""
    journal.commit()
    summary = _summary(runner)
    report = _report(runner, journal, args, summary)
    if not getattr(args, "no_registry", True):
        record = {
            "env_name": args.env_name,
            "tags": args.tags,
            "notes": args.notes,
            "cli_args": sys.argv[1:],
        }
        write_session_record(in_home("reports/experiments/live_sessions"), summary, record)
    journal.close()
    return summary | {"report_dir": str(report)}


def run_to_the_end(
    runner: LiveSessionRunner,
    journal: Journal,
    args: argparse.Namespace,
    cfg: PeakConfig,
    run: Callable[[], None],
) -> dict[str, Any]:
    """Call `run`, then write the run's report; return its summary. If the journal could not
    be written, the summary and report show what it holds, the summary is printed, and the
    error goes on (exit 1); after any other error the report is written and it goes on."""
    try:
        run()
    except JournalWriteError as error:
        show_summary(finish_unjournaled(runner, journal, args, cfg, error), as_json=args.json)
        raise
    finally:
        if not journal.failed:
            summary = finish_run(runner, journal, args)
    return summary


def finish_unjournaled(
    runner: LiveSessionRunner,
    journal: Journal,
    args: argparse.Namespace,
    cfg: PeakConfig,
    error: JournalWriteError,
) -> dict[str, Any]:
    """Sum up a run whose journal could not be written as far as the journal holds it (the
    steps after the last whole one never happened for a resume either), and write its report
    if the disk lets it; return the summary."""
    twin = type(runner).journaled_state(runner.config, runner.run_id, journal, cfg)
    twin.stop_reason = str(error)
    summary = _summary(twin)
    try:
        report: Path | None = _report(twin, journal, args, summary)
    except SessionRuntimeError as failure:
        _LOG.error("no report: %s", failure)
        report = None
    return summary | {"report_dir": None if report is None else str(report)}


def _summary(runner: LiveSessionRunner) -> dict[str, Any]:
    return runner.get_summary() | {"kind": "backtest" if runner.is_backtest else "session"}


def _report(
    runner: LiveSessionRunner, journal: Journal, args: argparse.Namespace, summary: dict[str, Any]
) -> Path:
    """Write the run's report from what its journal holds (adding its statistics to
    `summary`); return the folder."""
    run_id = runner.run_id
    bars = bar_blocks(journal.events(run_id, *BAR_KINDS), runner.recorder.source())
    report = write_report(
        report_target(args, run_id), summary, journal.events(run_id, *REPORT_KINDS), bars
    )
    _LOG.info("report written to %s", report)
    return report


def show_summary(summary: dict[str, Any], *, as_json: bool) -> None:
    """Print the summary on stdout: one JSON object, or a table with hints."""
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        print_summary(summary)
