"""`peak-trade control RUN_ID halt|reduce|activate|stop`: an operator's command to a run."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from peak_trade.cli.arguments import add_journals, journaled_run, watched_journals
from peak_trade.core.errors import ConfigError
from peak_trade.session.controls import COMMANDS, send_command

__all__ = ["DESCRIPTION", "add_control_arguments", "run_control"]

DESCRIPTION = (
    "Send a running session a command: halt (no new orders), reduce (orders that shrink a "
    "position only), activate (trade again) or stop (end the run in order, report written). "
    "The session applies it before its next poll, journals it with its source, and keeps the "
    "trading state it sets through a resume."
)


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the control flags."""
    parser.add_argument("run_id", type=journaled_run, metavar="RUN_ID")
    parser.add_argument(
        "order", choices=list(COMMANDS), metavar="COMMAND", help=f"one of {', '.join(COMMANDS)}"
    )
    add_journals(parser)


def run_control(args: argparse.Namespace) -> int:
    """Send the command to a running run; exit 2 when the run is not running."""
    from peak_trade.dashboard.reader import JournalSet, RunNotFoundError

    try:  # the dashboard's lookup: the run's state and where its commands go
        state, target = JournalSet(watched_journals(args.journal)).control_file(args.run_id)
    except RunNotFoundError:
        raise ConfigError(f"no run {args.run_id!r} in the journals") from None
    if state != "running":
        raise ConfigError(
            f"run {args.run_id} is {state}, not running: a command reaches a running "
            "session only (resume it first)"
        )
    now = datetime.now(UTC)
    send_command(target, args.order, f"terminal, user {getpass.getuser()}", now)
    print(f"sent {args.order} to run {args.run_id}; it applies it before its next poll")
    return 0
