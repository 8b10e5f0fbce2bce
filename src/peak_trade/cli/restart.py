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
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from peak_trade.cli.arguments import settings_given
from peak_trade.core.clock import SystemClock
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.schema import LEGS_KEY
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.session.alerts import AlertHandler, Alerts
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.controls import OperatorControls
from peak_trade.session.notify import ServiceNotifier
from peak_trade.session.runner import LiveSessionRunner

__all__ = [
    "Supervised",
    "Supervision",
    "refuse_settings",
    "remaining_duration",
    "remaining_steps",
    "resume_or_start",
    "say_if_finished",
]

_LOG = logging.getLogger("peak_trade.session")
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


def resume_or_start(
    args: argparse.Namespace, wanted: LiveSessionConfig, legs: list[dict[str, Any]] | None = None
) -> bool:
    """Return True (and set `args.resume`) when the journal holds run `--run-id` to resume; a
    ConfigError when the command line would trade it otherwise than it started (for a
    portfolio, `legs` as `Leg.to_dict` gives them, too)."""
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
    if then.get(LEGS_KEY) != legs:
        changed.append(f"legs {_names(then.get(LEGS_KEY))} → {_names(legs)}")
    if changed:
        raise ConfigError(
            f"run {args.run_id} started with other settings than this command line's "
            f"({', '.join(changed)}); a restart goes on with the run as it started, so put "
            "them back, or start a new run with another --run-id"
        )
    args.resume, args.resume_checked = args.run_id, True
    args.steps = args.duration = None  # what the run still owes comes from its journal
    return True


def _names(legs: list[dict[str, Any]] | None) -> str:
    if not legs:
        return "none"
    return "+".join(f"{leg['strategy']}:{leg['symbol']}" for leg in legs)


def refuse_settings(args: argparse.Namespace, legs: bool = False) -> None:
    """A resumed run trades with the settings it started with: refuse flags that would seem
    to change them (they were ignored before, silently), `legs` (--leg or --portfolio)
    among them; `resume_or_start` checked its own."""
    given = list(dict.fromkeys(settings_given(args)))  # a flag given twice is named once
    if legs:
        given.append("--leg/--portfolio")
    if given and not getattr(args, "resume_checked", False):
        raise ConfigError(
            f"--resume continues run {args.resume} with the settings it started with; "
            f"{', '.join(given)} cannot change them. Leave {'them' if len(given) > 1 else 'it'} "
            "out, or start a new run (a new --run-id) to trade other settings"
        )


class Supervised(Protocol):
    """A run a supervisor watches: a session's runner, or a portfolio's run."""

    heartbeat: Callable[[], None]  # called once a loop

    @property
    def run_id(self) -> str:
        """Return the run's id."""
        ...

    @property
    def recorder(self) -> SessionRecorder:
        """Return the run's journal writer."""
        ...

    def shutdown(self, reason: str) -> None:
        """Stop the run after the poll it is in."""
        ...


class Supervision:
    """What a session does for its supervisor and operator: systemd's notifications, the
    operator's commands once a loop, and alerts of its start, stop and warnings."""

    def __init__(
        self, runner: Supervised, risk: LiveRiskLimits | None, journal: Journal, cfg: PeakConfig
    ) -> None:
        self.notifier = ServiceNotifier()
        self.controls = OperatorControls.of(
            journal, runner.recorder, risk, SystemClock(), runner.shutdown
        )
        self.alerts = Alerts.from_config(cfg.alerts, runner.run_id)
        self.handler: AlertHandler | None = None
        runner.heartbeat = self._beat

    def _beat(self) -> None:
        self.notifier.heartbeat()
        self.controls.poll()

    def ready(self, status: str) -> None:
        """The warmup is done: say so to systemd and the alert channels."""
        self.notifier.ready(status)
        if self.alerts is not None:
            self.alerts.start()
            self.handler = AlertHandler(self.alerts)
            logging.getLogger("peak_trade").addHandler(self.handler)
            self.alerts.notify(f"started: {status}")

    def stopping(self, reason: str, equity: str) -> None:
        """The run ended: say why, send what is queued."""
        self.notifier.stopping(reason)
        if self.alerts is not None:
            self.alerts.notify(f"stopped: {reason}; equity {equity}")
            if self.handler is not None:
                logging.getLogger("peak_trade").removeHandler(self.handler)
            self.alerts.close()


def remaining_duration(plan: JournalEvent, now: datetime) -> float | None:
    """Return the minutes a run planned by duration still has at `now` (0 once they are over);
    None when the plan was not a duration."""
    minutes = plan.payload.get("duration_minutes")
    if minutes is None or plan.ts_event is None:
        return None
    spent = (now - datetime.fromisoformat(plan.ts_event)).total_seconds() / 60
    return max(0.0, float(minutes) - spent)


def say_if_finished(runner: LiveSessionRunner, steps: int | None, duration: float | None) -> None:
    """Tell the user when a resumed run has nothing left to do: only its report is written."""
    over = (
        (steps is not None and steps <= 0)
        or (steps is None and duration is not None and duration <= 0)
        or runner.feed.exhausted
    )
    if not over:
        return
    stops = runner.recorder.events("run_stopped")
    why = f" ({stops[-1].payload['reason']})" if stops else ""
    more = "" if runner.feed.exhausted else "; give --steps N to trade N more bars"
    _LOG.warning(
        "run %s had finished%s: nothing is left to run, so its report is written again%s",
        runner.run_id,
        why,
        more,
    )


def remaining_steps(plan: dict[str, object], done: int) -> int | None:
    """Return the steps still owed to the run's first plan, `done` of them done (None: it had
    no step count)."""
    if plan.get("steps") is None:
        return None
    return max(0, int(str(plan["steps"])) - done)
