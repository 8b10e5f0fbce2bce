"""Operator controls: halt, reduce-only, back to active, and an orderly stop of a running run.

A command is one JSON line appended to the run's control file, `<journal>.control/<run>.jsonl`
(`peak-trade control` and the dashboard write it). The running session reads new lines once a
loop, before it polls its feed, so a command applies within one poll. Each command read is
journaled as an `operator` event with its source and whether it applied; the trading state it
sets is journaled as every state change is, and a resume restores it. A resumed run skips the
lines its journal says it read already.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from peak_trade.core.clock import Clock
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal
from peak_trade.live.risk_limits import LiveRiskLimits, TradingState

__all__ = ["COMMANDS", "OperatorControls", "control_path", "send_command"]

_LOG = logging.getLogger(__name__)
# what each command sets the trading state to ("stop" ends the run instead)
COMMANDS: Final = {
    "halt": TradingState.HALTED,
    "reduce": TradingState.REDUCING,
    "activate": TradingState.ACTIVE,
    "stop": None,
}


def control_path(journal: Path, lock_name: str) -> Path:
    """Return the control file of the run whose lock file is named `lock_name`."""
    return Path(f"{journal}.control") / f"{lock_name}.jsonl"


def send_command(path: Path, command: str, source: str, now: datetime) -> None:
    """Append one command to a run's control file (whole lines: one write each, O_APPEND)."""
    line = json.dumps({"command": command, "source": source, "time": now.isoformat()}) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class OperatorControls:
    """Reads a run's control file and applies its new commands (see the module's text)."""

    path: Path
    recorder: SessionRecorder
    risk: LiveRiskLimits | None
    clock: Clock
    stop: Callable[[str], None]
    read: int = 0  # lines applied so far (the journal's operator events, on a resume)

    @classmethod
    def of(
        cls,
        journal: Journal,
        recorder: SessionRecorder,
        risk: LiveRiskLimits | None,
        clock: Clock,
        stop: Callable[[str], None],
    ) -> OperatorControls:
        """Return the controls of `recorder`'s run, past the commands it journaled already."""
        path = control_path(journal.path, journal.lock_path(recorder.run_id).name)
        read = journal.count(recorder.run_id, "operator")
        return cls(path, recorder, risk, clock, stop, read)

    def poll(self) -> None:
        """Apply the commands written since the last poll."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return
        except OSError as error:
            _LOG.warning("cannot read the control file %s: %s", self.path, error.strerror)
            return
        for line in lines[self.read :]:
            self.read += 1
            self._apply(_parsed(line))

    def _apply(self, order: dict[str, Any]) -> None:
        command, source = str(order.get("command")), str(order.get("source", "unknown"))
        now = self.clock.now()
        applied, detail = True, ""
        state = COMMANDS.get(command)
        if command not in COMMANDS:
            applied, detail = False, f"unknown command {command!r}"
        elif state is None:
            self.stop(f"operator: stop ({source})")
        elif self.risk is None:
            applied, detail = False, "the run has no risk limits (--no-risk-limits): only stop"
        else:
            self.risk.set_trading_state(state, f"{command} ({source})", now)
        self.recorder.operator(command, source, applied, detail, now)
        if applied:
            _LOG.warning("operator: %s (%s)", command, source)
        else:
            _LOG.warning("operator: %s (%s) not applied: %s", command, source, detail)


def _parsed(line: str) -> dict[str, Any]:
    try:
        order = json.loads(line)
    except ValueError:
        return {"command": line[:40], "source": "unreadable line"}
    return order if isinstance(order, dict) else {"command": str(order)[:40]}
