"""Argument types shared by the `peak-trade` commands."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from peak_trade.core.errors import ConfigError, PeakTradeError, did_you_mean
from peak_trade.core.home import in_home
from peak_trade.core.types import MAX_COUNT, MAX_SEED

__all__ = [
    "LOG_LEVELS",
    "SYNTHETIC_BARS",
    "SYNTHETIC_SEED",
    "TIMEFRAME_HELP",
    "PeakArgumentParser",
    "Setting",
    "SettingSwitch",
    "add_journals",
    "add_log_level",
    "add_strategy_path",
    "file_text",
    "fraction",
    "journaled_run",
    "log_handler",
    "non_negative_int",
    "path_arg",
    "positive_float",
    "positive_int",
    "run_guarded",
    "run_name",
    "seed",
    "settings_given",
    "setup_logging",
    "watched_journals",
]


def add_strategy_path(parser: argparse.ArgumentParser) -> None:
    """Add --strategy-path: user strategy files to load (repeatable)."""
    parser.add_argument(
        "--strategy-path",
        action="append",
        type=path_arg,
        metavar="PATH",
        help="a strategy file or a folder of them to load (repeatable; docs/strategies.md)",
    )


def positive_int(text: str) -> int:
    """Parse a whole number > 0."""
    value = _whole(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, was {value}")
    return value


def non_negative_int(text: str) -> int:
    """Parse a whole number >= 0."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, was {value}")
    return value


def _given(text: str, expected: str, hint: str = "") -> str:
    """Return `text` unless it is empty or blank: an unset shell variable gives none, which
    must not quietly mean a default (a generated name, a new run, the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected {expected}, was empty{hint}")
    return text


def run_name(text: str) -> str:
    """Parse the name of a new run (--run-id)."""
    return _given(text, "a name for the run", "; leave --run-id out to have one generated")


def path_arg(text: str) -> Path:
    """Parse a file or folder given on the command line."""
    return Path(_given(text, "a path"))


def file_text(text: str) -> str:
    """Parse a file name kept as text (a data file)."""
    return _given(text, "a path")


def journaled_run(text: str) -> str:
    """Parse the id of a run the journal holds (--resume, reconcile)."""
    return _given(text, "the id of a run in the journal")


def seed(text: str) -> int:
    """Parse a seed of the synthetic market: a whole number from 0 to MAX_SEED."""
    value = _whole(text, None)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to {MAX_SEED}, was {value}"
        )
    return value


def positive_float(text: str) -> float:
    """Parse a number > 0."""
    value = _real(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, was {text}")
    return value


def fraction(text: str) -> float:
    """Parse a number in (0, 1]."""
    value = _real(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], was {text}")
    return value


def _whole(text: str, limit: int | None = MAX_COUNT) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, was {text!r}") from None
    if limit is not None and abs(value) > limit:
        raise argparse.ArgumentTypeError(f"expected a whole number up to {limit:,}, was {text}")
    return value


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, was {text!r}") from None


class PeakArgumentParser(argparse.ArgumentParser):
    """argparse that names a misspelt flag, with the nearest real one, whatever else it would
    have said (a typo in `--synthetic` otherwise reads as "--synthetic is required")."""

    _tokens: list[str]
    # a command's sibling commands by name (set by the top parser), to say where a flag belongs
    commands: Mapping[str, argparse.ArgumentParser] = {}

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        self._tokens = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        problems = self._unknown_flags()
        super().error("; ".join(problems) if problems else _with_nearest_choice(message))

    def _unknown_flags(self) -> list[str]:
        tokens = getattr(self, "_tokens", [])
        parser: argparse.ArgumentParser = self
        siblings = self.commands
        for action in self._actions:  # a command's own flags, if one is named
            if isinstance(action, argparse._SubParsersAction):
                named = next((t for t in tokens if t in action.choices), None)
                parser = action.choices[named] if named is not None else parser
                siblings = action.choices
        known = [flag for action in parser._actions for flag in action.option_strings]
        problems = []
        for token in tokens:
            flag = token.split("=", 1)[0]
            if not flag.startswith("--") or any(k.startswith(flag) for k in known):
                continue  # a value, or a flag (abbreviated, as argparse allows)
            close = difflib.get_close_matches(flag, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            owners = _commands_with(flag, siblings, parser)
            if owners:  # a flag of another command: say so rather than guess
                hint = f"; it is a flag of {' and '.join(owners)}"
            problems.append(f"unrecognized argument {flag}{hint}")
        return problems


def _commands_with(
    flag: str, commands: Mapping[str, argparse.ArgumentParser], current: argparse.ArgumentParser
) -> list[str]:
    """Return the commands other than `current` that take `flag` exactly."""
    return [
        command.prog
        for command in commands.values()
        if command is not current
        and any(flag in action.option_strings for action in command._actions)
    ]


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)$")


def _with_nearest_choice(message: str) -> str:
    """Add the nearest choice to argparse's "invalid choice" message (`--metric sharp`)."""
    found = _INVALID_CHOICE.search(message)
    if found is None:
        return message
    choices = re.findall(r"'([^']*)'", found["choices"])
    return message + did_you_mean(found["given"], choices)


class Setting(argparse.Action):
    """Stores a flag's value, as argparse's default action does, and notes that the flag was
    given: a flag that sets what a run trades with, which `--resume` cannot change."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        setattr(namespace, _GIVEN, (*settings_given(namespace), self.option_strings[0]))


class SettingSwitch(Setting):
    """A switch (`store_true`) that is a setting."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, const=True, default=False, **kwargs)


_GIVEN = "settings_given"


def settings_given(args: argparse.Namespace) -> tuple[str, ...]:
    """Return the setting flags (`Setting`) given on the command line, in order."""
    given: tuple[str, ...] = getattr(args, _GIVEN, ())
    return given


SYNTHETIC_SEED, SYNTHETIC_BARS = 7, 20_000


# The --timeframe help of every command.
TIMEFRAME_HELP = "candle length (default: 1m; 2w is Kraken's 15-day candle, 21,600 minutes)"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


DEFAULT_JOURNALS = ("journal/peak_trade.sqlite", "journal/backtest.sqlite")


def add_journals(parser: argparse.ArgumentParser) -> None:
    """Add --journal for the commands that watch runs: repeatable, defaulting to the home
    folder's session and backtest journals (`watched_journals`)."""
    parser.add_argument(
        "--journal",
        action="append",
        type=path_arg,
        help="journal file (repeatable; default: journal/peak_trade.sqlite and "
        "journal/backtest.sqlite in the home folder, those that exist)",
    )


def watched_journals(given: list[Path] | None) -> list[Path]:
    """Return the journals --journal names, else the home folder's that exist."""
    return given or [
        path for path in (in_home(name) for name in DEFAULT_JOURNALS) if path.is_file()
    ]


def add_log_level(parser: argparse.ArgumentParser, default: str) -> None:
    """Add --log-level, in any case (`debug` is DEBUG)."""
    parser.add_argument(
        "--log-level",
        default=default,
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"log detail on stderr (default: {default})",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text, or one JSON object a line for a log collector (default: text)",
    )


def run_guarded(action: Callable[[], int], prefix: str = "") -> int:
    """Run a command; map Peak Trade's errors to exit codes: 2 usage or config, 1 failure."""
    try:
        code = action()
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        # Whoever read stdout went away (`| head`): stop quietly; the run's files are written.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ConfigError as error:
        print(f"{prefix}error: {error}", file=sys.stderr)
        return 2
    except PeakTradeError as error:
        print(f"{prefix}failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prefix}interrupted", file=sys.stderr)
        return 1


class _CurrentStderr:
    """Whatever sys.stderr is at the time of writing: while a progress bar is drawn, rich puts
    a proxy there that prints each log line above the bar instead of into it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def log_handler(log_format: str = "text") -> logging.Handler:
    """Return the handler the commands log with: stderr as it is at each line; a line of text
    (the time of day, level and message: short enough for a terminal) or one JSON object a
    line, for a log collector (date and time, level, logger, message)."""
    handler = logging.StreamHandler(_CurrentStderr())
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        fields = {"asctime": "time", "levelname": "level", "name": "logger"}
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields=fields)
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    return handler


def setup_logging(level: str, log_format: str = "text") -> None:
    """Send logs to stderr at `level`; keep chatty libraries at WARNING."""
    logging.basicConfig(level=level, handlers=[log_handler(log_format)])
    for noisy in ("matplotlib", "PIL", "urllib3", "ccxt", "ray"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
