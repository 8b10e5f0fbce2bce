"""The emulator as a program: serve a synthetic or recorded market on wall-clock time.

    python -m peak_trade.testing.kraken_emulator --port 0 --api-key KEY --api-secret SECRET \\
        [--fault outage:90] [--fault http_500:3]

prints its base URL as the first line of stdout and serves until SIGINT or SIGTERM. Faults
given with `--fault` start at once; more can be scripted while it runs through its control
endpoint (`server.CONTROL_PATH`), so an operator can rehearse an outage.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.replay import load_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.testing.kraken_emulator.exchange import KrakenEmulator
from peak_trade.testing.kraken_emulator.faults import FAULT_HELP, FaultPlan, parse_fault
from peak_trade.testing.kraken_emulator.server import CONTROL_PATH

__all__ = ["main"]


def _fault(text: str) -> FaultPlan:
    try:
        return parse_fault(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m peak_trade.testing.kraken_emulator",
        description="Serve a loopback Kraken on 127.0.0.1.",
        epilog=f'faults can also be scripted while it runs: POST {{"faults": [...]}} to '
        f"{CONTROL_PATH}; GET it for what was queued and used; DELETE it to clear them",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True, help="base64, as Kraken issues them")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", type=int, default=1000, help="closed 1m bars at start")
    parser.add_argument(
        "--data-path",
        help="serve these recorded 1m candles instead, moved in "
        "time so that the last one has just closed",
    )
    parser.add_argument(
        "--fault", type=_fault, action="append", default=[], metavar="KIND[:ARGS]", help=FAULT_HELP
    )
    return parser


def _bars(args: argparse.Namespace, timeframe: Timeframe, now: datetime) -> list[Bar]:
    if args.data_path:
        recorded = list(load_replay(args.data_path, timeframe).bars())
        shift = timeframe.floor(now) - timeframe.delta - recorded[-1].time
        return [replace(bar, time=bar.time + shift) for bar in recorded]
    start = timeframe.floor(now) - timedelta(minutes=args.history)
    market = SyntheticMarket(
        seed=args.seed, timeframe=timeframe, start=start, bars=args.history + 24 * 60
    )
    return list(market)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a synthetic (or recorded) market on wall-clock time until interrupted."""
    args = _parser().parse_args(argv)
    timeframe = Timeframe("1m")
    emulator = KrakenEmulator(
        _bars(args, timeframe, datetime.now(UTC)),
        timeframe,
        lambda: datetime.now(UTC),
        api_key=args.api_key,
        api_secret=args.api_secret,
        port=args.port,
    )
    emulator.apply(args.fault)
    emulator.start()
    print(emulator.base_url, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    emulator.stop()
    return 0
