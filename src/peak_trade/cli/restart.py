"""Unattended sessions: one command line for a supervisor to restart (`--resume-or-start`),
and what a session does once a loop for its supervisor and operator (`supervised`).

`session --run-id NAME --resume-or-start`:
The first start begins run NAME; every later one (a crash, a reboot, `systemctl restart`, a
container's restart policy) resumes it from its journal, so the run goes on as one. The
command line's settings must be the ones the run started with: a restart never changes what
a run trades.
"""

from __future__ import annotations

import argparse

from peak_trade.cli.arguments import settings_given
from peak_trade.core.clock import SystemClock
from peak_trade.core.errors import ConfigError
from peak_trade.journal.store import Journal
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.controls import OperatorControls
from peak_trade.session.notify import ServiceNotifier
from peak_trade.session.runner import LiveSessionRunner

__all__ = ["refuse_settings", "resume_or_start", "supervised"]

# what a restart must not change: the settings a run journals at its start
_SETTINGS = (
    "mode",
    "strategy_key",
    "symbol",
    "timeframe",
    "warmup_candles",
    "position_fraction",
    "poll_interval_seconds",
    "fee_rate",
    "slippage_bps",
    "start_balance",
    "max_consecutive_errors",
    "enable_risk_limits",
    "data_source",
    "seed",
    "fill_price",
    "timerange",
)


def resume_or_start(args: argparse.Namespace, wanted: LiveSessionConfig) -> bool:
    """Return True (and set `args.resume`) when the journal holds run `--run-id` to resume; a
    ConfigError when the command line would trade it otherwise than it started."""
    if not args.run_id:
        raise ConfigError(
            "--resume-or-start needs --run-id NAME: the run every restart goes on with"
        )
    if args.resume:
        raise ConfigError("--resume-or-start and --resume both name a run; give one")
    if not args.journal.is_file():
        return False
    with Journal(args.journal, read_only=True) as journal:
        if args.run_id not in journal.run_ids():
            return False
        then = journal.run_started(args.run_id).payload["config"]
    now = wanted.to_dict()
    changed = [
        f"{key} {then.get(key)!r} → {now[key]!r}" for key in _SETTINGS if then.get(key) != now[key]
    ]
    if changed:
        raise ConfigError(
            f"run {args.run_id} started with other settings than this command line's "
            f"({', '.join(changed)}); a restart goes on with the run as it started, so put "
            "them back, or start a new run with another --run-id"
        )
    args.resume, args.resume_checked = args.run_id, True
    args.steps = args.duration = None  # what the run still owes comes from its journal
    return True


def refuse_settings(args: argparse.Namespace) -> None:
    """A resumed run trades with the settings it started with: refuse flags that would seem
    to change them (they were ignored before, silently); `resume_or_start` checked its own."""
    given = list(dict.fromkeys(settings_given(args)))  # a flag given twice is named once
    if given and not getattr(args, "resume_checked", False):
        raise ConfigError(
            f"--resume continues run {args.resume} with the settings it started with; "
            f"{', '.join(given)} cannot change them. Leave {'them' if len(given) > 1 else 'it'} "
            "out, or start a new run (a new --run-id) to trade other settings"
        )


def supervised(runner: LiveSessionRunner, journal: Journal) -> ServiceNotifier:
    """Once a loop, before each poll: ping systemd's watchdog (when systemd started the
    session) and apply the operator's new commands. Return the notifier, to say ready and
    stopping."""
    notifier = ServiceNotifier()
    risk = runner.pipeline.risk_limits
    controls = OperatorControls.of(journal, runner.recorder, risk, SystemClock(), runner.shutdown)

    def beat() -> None:
        notifier.heartbeat()
        controls.poll()

    runner.heartbeat = beat
    return notifier
