"""`peak-trade init [DIR]`: a home folder to work in, outside the repository."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from peak_trade.cli.arguments import path_arg
from peak_trade.core.errors import ConfigError, InvariantError
from peak_trade.core.home import HOME_ENV_VAR

__all__ = ["DESCRIPTION", "add_init_arguments", "run_init"]

DESCRIPTION = (
    "Make a folder to work in: a commented config.toml, a strategies/ folder with an example "
    "strategy, an example portfolio.toml, and a .env.example for testnet keys. Every command "
    f"run in it, or in a folder below it (or anywhere, with ${HOME_ENV_VAR} naming it), reads "
    "that config and keeps its journals and reports there."
)
_ENV_EXAMPLE = """\
# Copy to .env (never commit it) for testnet sessions; a session reads it from this folder.
# Keys from Kraken: Settings > API, with "Create & modify orders" and "Query funds" only.
# Peak Trade validates orders (validate=true) and never places one.
KRAKEN_TESTNET_API_KEY=
KRAKEN_TESTNET_API_SECRET=
"""
_STRATEGY = "channel_breakout.py"


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the init flags."""
    parser.add_argument(
        "folder",
        nargs="?",
        type=path_arg,
        default=Path(),
        metavar="DIR",
        help="the folder to make or fill (default: this one)",
    )


def run_init(args: argparse.Namespace) -> int:
    """Write the files; refuse to overwrite any."""
    folder: Path = args.folder
    files = {
        folder / "config.toml": _config_text(),
        folder / "strategies" / _STRATEGY: _template("example_strategy"),
        folder / "portfolio.toml": _template("example_portfolio"),
        folder / ".env.example": _ENV_EXAMPLE,
    }
    there = [str(path) for path in files if path.exists()]
    if there:
        raise ConfigError(
            f"{', '.join(there)} already there; init writes a new folder and overwrites "
            "nothing (choose another DIR, or move them away)"
        )
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write into {folder}: {error.strerror or error}") from None
    where = "" if folder == Path() else f"cd {folder} && "
    print(
        f"made {folder.resolve()}: config.toml, strategies/{_STRATEGY}, portfolio.toml, "
        ".env.example\n"
        f"next: {where}peak-trade backtest --data synthetic --strategy channel_breakout\n"
        f"  or: {where}peak-trade backtest --data synthetic --portfolio portfolio.toml"
    )
    return 0


def _template(name: str) -> str:
    return (resources.files("peak_trade.user") / "home" / name).read_text(encoding="utf-8")


def _config_text() -> str:
    """Return the shipped config, its strategy paths naming the new strategies/ folder."""
    text = _template("config.toml")
    empty = "paths = []"
    if empty not in text:  # the shipped config changed: this must be told, not guessed
        raise InvariantError("the shipped config.toml has no `paths = []` under [strategies]")
    return text.replace(empty, 'paths = ["strategies"]', 1)
