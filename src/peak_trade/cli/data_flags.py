"""The flags that choose a run's bars: where they come from (--data, --data-path, the
synthetic market's --bars and --seed), and the symbol and timeframe they are of."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection
from pathlib import Path

from peak_trade.cli.arguments import (
    SYNTHETIC_BARS,
    SYNTHETIC_SEED,
    file_text,
    path_arg,
    positive_int,
    seed,
)
from peak_trade.core.errors import ConfigError
from peak_trade.core.types import TIMEFRAMES, parse_symbol

TIMERANGE_HELP = (
    "the part of the --data-path file to read: dates or ISO times (UTC), either end may be "
    "left out (2024-01-01:2024-07-01, 2024-03-01:)"
)

__all__ = [
    "TIMERANGE_HELP",
    "add_history_arguments",
    "history_source",
    "market_of",
    "refuse_stray_data_flags",
    "synthetic_source",
]


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that choose the bars a backtest or a sweep replays: the symbol and
    timeframe, a candle file or the synthetic market (its length and seed), and the config."""
    a = parser.add_argument
    a("--symbol", help="BASE/QUOTE (default: the file's own, else BTC/EUR)")
    a(
        "--timeframe",
        "-t",
        choices=list(TIMEFRAMES),
        help="candle length (default: the file's own, else 1m; 2w is Kraken's 15-day candle)",
    )
    a(
        "--data",
        choices=["synthetic", "replay"],
        help="the bars: synthetic (a generated market) or replay (a --data-path file); "
        "default: replay when --data-path is given",
    )
    a("--data-path", type=file_text, help="CSV or Parquet candles to replay")
    a("--timerange", metavar="START:END", help=TIMERANGE_HELP)
    a("--synthetic", action="store_true", help="deprecated: --data synthetic")
    a(
        "--bars",
        type=positive_int,
        help=f"with --data synthetic: bars in all, warmup included (default: {SYNTHETIC_BARS})",
    )
    a("--seed", type=seed, help=f"with --data synthetic (default: {SYNTHETIC_SEED})")
    a(
        "--config",
        type=path_arg,
        help="config file (default: $PEAK_TRADE_CONFIG_PATH, else the home folder's)",
    )


DEFAULT_SYMBOL, DEFAULT_TIMEFRAME = "BTC/EUR", "1m"


def market_of(
    args: argparse.Namespace, data_path: object, given: Collection[str] | None = None
) -> None:
    """Set `args.symbol` and `args.timeframe` to what the run reads: a candle file's own, when
    its metadata names them (a file `peak-trade download` wrote), else the flags', else BTC/EUR
    1m. A flag that contradicts the file is a ConfigError. `given` names the flags the user
    gave, for commands whose flags have defaults; otherwise a flag left as None was not."""
    asked = {
        "symbol": args.symbol if given is None or "--symbol" in given else None,
        "timeframe": args.timeframe if given is None or "--timeframe" in given else None,
    }
    meta = None
    if data_path is not None:
        from peak_trade.data.candle_files import read_meta  # pandas: only when a file is read

        meta = read_meta(Path(str(data_path)))
    if meta is not None:
        for name, own in (("symbol", meta.symbol), ("timeframe", meta.timeframe)):
            flag = asked[name]
            same = flag is None or (
                parse_symbol(flag) == parse_symbol(own) if name == "symbol" else flag == own
            )
            if not same:
                raise ConfigError(
                    f"{data_path} holds {meta.symbol} {meta.timeframe} candles from "
                    f"{meta.exchange}, but --{name} says {flag}; leave --{name} out to read "
                    "the file as what it is"
                )
        args.symbol, args.timeframe = meta.symbol, meta.timeframe
        return
    args.symbol = asked["symbol"] or DEFAULT_SYMBOL
    args.timeframe = asked["timeframe"] or DEFAULT_TIMEFRAME


def refuse_stray_data_flags(
    data: str, data_path: object, *, seed_given: bool, verb: str, noun: str
) -> None:
    """Refuse --data-path beside a source other than replay, and --seed beside one other than
    synthetic, rather than ignore them: `verb` and `noun` say what the command would do."""
    if data_path is not None and data != "replay":
        raise ConfigError(
            f"--data-path is read with --data replay only; add --data replay to {verb} "
            f"{data_path} (without it the {noun} reads {data} data)"
        )
    if seed_given and data != "synthetic":
        raise ConfigError(f"--seed is for --data synthetic; {data} data has no seed")


def history_source(args: argparse.Namespace) -> None:
    """Set `args.synthetic` from --data, --data-path and the deprecated --synthetic: the one
    source of a backtest's or a sweep's bars, or a ConfigError saying how to name it."""
    data = args.data
    if args.synthetic:
        print(
            "peak-trade: --synthetic is deprecated and goes in the next release; use "
            "--data synthetic",
            file=sys.stderr,
        )
        if data == "replay":
            raise ConfigError("--synthetic and --data replay name two sources; give one")
        data = "synthetic"
    data = data or ("replay" if args.data_path is not None else None)
    if data is None:
        raise ConfigError(
            "no bars named: give --data synthetic (a generated market) or --data-path FILE "
            "(a CSV or Parquet candle file, e.g. from `peak-trade download`)"
        )
    if data == "replay" and args.data_path is None:
        raise ConfigError("--data replay needs --data-path FILE (a CSV or Parquet candle file)")
    if data == "synthetic" and args.data_path is not None:
        raise ConfigError(
            f"--data-path is read with --data replay only; leave out --data synthetic to "
            f"replay {args.data_path}"
        )
    args.data, args.synthetic = data, data == "synthetic"


def synthetic_source(args: argparse.Namespace) -> tuple[int, int | None]:
    """Return the synthetic market's seed and bar count (None for a replay file), refusing
    --bars and --seed beside --data-path, where they would mean nothing."""
    history_source(args)
    if not args.synthetic:
        given = [flag for flag in ("--bars", "--seed") if getattr(args, flag[2:]) is not None]
        if given:
            verb = "are" if len(given) > 1 else "is"
            raise ConfigError(
                f"{' and '.join(given)} {verb} for --data synthetic only; a replay uses every bar "
                f"of {args.data_path}"
            )
        return SYNTHETIC_SEED, None
    chosen = SYNTHETIC_SEED if args.seed is None else args.seed
    return chosen, SYNTHETIC_BARS if args.bars is None else args.bars
