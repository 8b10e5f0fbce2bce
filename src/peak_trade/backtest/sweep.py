"""Parameter sweeps: one backtest per grid point on the session engine, in parallel.

Every grid point becomes a full, validated config before any work starts, so an unknown
parameter or an invalid combination (fast >= slow) fails at once. Each task runs the same
LiveSessionRunner as a backtest, without a journal, and computes its statistics online.
SIGINT or SIGTERM stops a sweep with a runtime error, its workers (or Ray tasks) ended and
nothing written.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peak_trade.backtest.portfolio_sweep import (
    portfolio_points,
    run_portfolio_point,
    trading_state,
)
from peak_trade.backtest.runner import BacktestRunner
from peak_trade.core.clock import ManualClock
from peak_trade.core.errors import ConfigError, SessionRuntimeError
from peak_trade.core.legs import Leg
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.engine.outcomes import AccountMark
from peak_trade.orders.base import OrderFill
from peak_trade.portfolio.account import RunMarks
from peak_trade.portfolio.stats import ANNUALISED_DAYS, PerformanceStats
from peak_trade.portfolio.trips import RoundTrips
from peak_trade.session.config import LiveSessionConfig, run_id_from
from peak_trade.session.stop_signals import on_stop_signals
from peak_trade.session.wiring import check_bars
from peak_trade.strategies.registry import create_strategy_from_config, get_strategy_spec
from peak_trade.user.strategy_files import load_strategy_paths

__all__ = [
    "SweepTask",
    "build_portfolio_tasks",
    "build_tasks",
    "inert_parameters",
    "parse_grid",
    "rank",
    "ranking_metric",
    "run_sweep",
    "run_task",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepTask:
    """One grid point: its parameters, the full config and the session fields."""

    index: int
    params: dict[str, Any]
    config: dict[str, Any]
    session: dict[str, Any]
    strategy_paths: tuple[str, ...] = ()  # user strategy files a worker loads first
    legs: tuple[dict[str, Any], ...] = ()  # a portfolio's point: its legs, parameters set


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip()


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """Parse "name=v1,v2" items into {name: [v1, v2]}; numbers become numbers."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ConfigError(f"--grid expects NAME=V1,V2,..., was {item!r}")
        if name in grid:
            raise ConfigError(f"--grid names {name!r} twice")
        texts = [v.strip() for v in values.split(",") if v.strip()]
        grid[name] = [_value(v) for v in texts]
        keys = [(isinstance(v, bool), v) for v in grid[name]]  # 10 and 10.0 are one point
        for at, key in enumerate(keys):
            if key in keys[:at]:
                first = texts[keys.index(key)]
                raise ConfigError(
                    f"--grid {name} lists {first} twice (as {first!r} and {texts[at]!r}); "
                    "each value is one backtest, so name it once"
                )
    if not grid:
        raise ConfigError("a sweep needs at least one --grid NAME=V1,V2,...")
    return grid


def build_tasks(
    strategy_key: str,
    grid: dict[str, list[Any]],
    cfg: PeakConfig,
    session: dict[str, Any],
    strategy_paths: tuple[str, ...] = (),
) -> list[SweepTask]:
    """Validate every grid point as a full config; raise ConfigError before any work. The
    user strategy files `strategy_paths` (loaded here already) go with each task."""
    get_strategy_spec(strategy_key)
    base = cfg.root.model_dump()
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    configs: list[dict[str, Any]] = []
    needed = 0
    for point in points:
        data = {
            **base,
            "strategy": {
                **base["strategy"],
                strategy_key: {**base["strategy"].get(strategy_key, {}), **point},
            },
        }
        checked = PeakConfig.from_mapping(data)
        needed = max(needed, create_strategy_from_config(strategy_key, checked).required_bars)
        configs.append(data)
    session = _with_warmup(session, needed)
    return [
        SweepTask(i, point, data, session, strategy_paths)
        for i, (point, data) in enumerate(zip(points, configs, strict=True))
    ]


def build_portfolio_tasks(
    legs: Sequence[Leg],
    grid: dict[str, list[Any]],
    cfg: PeakConfig,
    session: dict[str, Any],
    strategy_paths: tuple[str, ...] = (),
) -> list[SweepTask]:
    """Validate every grid point of a portfolio (names LEG.PARAMETER) as its legs'
    strategies; raise ConfigError before any work."""
    points, legs_of_points, needed = portfolio_points(legs, grid, cfg)
    session = _with_warmup(session, needed)
    base = cfg.root.model_dump()
    return [
        SweepTask(i, point, base, session, strategy_paths, tuple(point_legs))
        for i, (point, point_legs) in enumerate(zip(points, legs_of_points, strict=True))
    ]


def _with_warmup(session: dict[str, Any], needed: int) -> dict[str, Any]:
    """Return the session fields, validated, with the warmup the slowest point needs."""
    warmup = session.get("warmup_candles")
    if warmup is None:
        session = {**session, "warmup_candles": needed}
    elif warmup < needed:
        raise ConfigError(
            f"warmup_candles {warmup} is fewer than the {needed} bars the grid's "
            "slowest strategy needs; leave --warmup-candles out to use that"
        )
    check_bars(LiveSessionConfig(**session))
    return session


def run_task(task: SweepTask) -> dict[str, Any]:
    """Run one grid point's backtest and return its parameters and statistics."""
    if task.legs:
        load_strategy_paths([Path(path) for path in task.strategy_paths])
        return run_portfolio_point(task.index, task.params, task.legs, task.config, task.session)
    # named by its grid point, which is what a warning from it must say
    point = "_".join(f"{name}-{value}" for name, value in task.params.items())
    config = LiveSessionConfig(**(task.session | {"run_id": run_id_from(f"sweep_{point}")}))
    cfg = PeakConfig.from_mapping(task.config)
    load_strategy_paths([Path(path) for path in task.strategy_paths])
    runner = BacktestRunner.from_config(
        config, cfg, clock=ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    )
    ledger = runner.engine.ledger
    stats = PerformanceStats(
        float(ledger.start_balance), Timeframe(config.timeframe).bars_per_year()
    )
    trips = RoundTrips()  # the report's round trips, from the same fills

    def follow(marks: RunMarks, account: AccountMark, fills: tuple[OrderFill, ...]) -> None:
        stats.add_bars(marks.equity, account.position != 0)
        for fill in fills:
            done = trips.add_fill(fill.signed_quantity, fill.price, fill.fee)
            if done is not None:
                stats.add_round_trip(float(done.pnl))

    runner.stops_on_signals = False  # a signal ends the sweep, not this point early
    runner.on_marks = follow
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)
    return {
        "index": task.index,
        **task.params,
        **stats.result(),
        "final_equity": float(ledger.equity),
        **trading_state(runner.engine.pipeline.risk_limits),
    }


def run_sweep(
    tasks: Sequence[SweepTask],
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Run every task on local processes (default) or a Ray cluster; results in task order."""
    results: list[dict[str, Any]] = []
    requested: list[signal.Signals] = []  # a stop asked for by SIGINT or SIGTERM

    def finished(row: dict[str, Any]) -> None:
        results.append(row)
        if progress is not None:
            progress(len(results), len(tasks))

    def go_on() -> None:
        """Raise if a signal asked the sweep to stop (looked at every _WAKE seconds at most)."""
        if requested:
            raise SessionRuntimeError(
                f"the sweep was stopped by {requested[0].name} after {len(results)} of "
                f"{len(tasks)} grid points; nothing was written"
            )

    with on_stop_signals(requested.append):
        if ray_address is not None:
            _run_on_ray(tasks, ray_address, finished, go_on)
        else:
            _run_locally(tasks, workers or os.cpu_count() or 1, finished, go_on)
    return sorted(results, key=lambda row: row["index"])


# How often a sweep waiting for its next result looks whether a signal asked it to stop.
_WAKE = 0.2


def _worker_started() -> None:
    # Ctrl+C reaches the whole process group: the parent stops the sweep and ends the workers.
    # SIGTERM takes its default action at once: a Python handler would only run when the main
    # thread next runs Python code, and a worker waiting for a task may never do so (the
    # signal can reach one of its other threads).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_locally(
    tasks: Sequence[SweepTask],
    workers: int,
    finished: Callable[[dict[str, Any]], None],
    go_on: Callable[[], None],
) -> None:
    pool = multiprocessing.Pool(min(workers, len(tasks)) or 1, initializer=_worker_started)
    try:
        rows = pool.imap_unordered(run_task, tasks)
        done = 0
        while done < len(tasks):
            go_on()
            try:
                row = rows.next(timeout=_WAKE)
            except multiprocessing.TimeoutError:
                continue
            finished(row)
            done += 1
        pool.close()
    except BaseException:  # a failed point, or a signal: the other points are not needed
        pool.terminate()
        raise
    finally:
        pool.join()


def _run_on_ray(
    tasks: Sequence[SweepTask],
    address: str,
    finished: Callable[[dict[str, Any]], None],
    go_on: Callable[[], None],
) -> None:
    if address == "local":
        # Ray then uses the loopback address for its own node, as it does on laptops, so a
        # local instance never talks to the machine's network address. Read at import time.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray  # the optional `cluster` extra
    except ImportError:
        raise ConfigError("--ray needs the cluster extra: pip install -e '.[cluster]'") from None
    if address == "local":
        # A local instance stays on the loopback interface: nothing leaves the machine.
        ray.init(
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            ignore_reinit_error=True,
            log_to_driver=False,
        )
    else:
        _check_reachable(address)
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        except (ConnectionError, RuntimeError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise SessionRuntimeError(
                f"cannot connect to the Ray cluster at {address!r}: {reason} "
                "(start one with `ray start --head`, or use --ray local)"
            ) from None
    remote = ray.remote(run_task)
    pending = [remote.remote(task) for task in tasks]
    try:
        while pending:
            go_on()
            ready, pending = ray.wait(pending, num_returns=1, timeout=_WAKE)
            for row in ray.get(ready):
                finished(row)
    except BaseException:  # a failed point, or a signal: cancel the points not done
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def _check_reachable(address: str) -> None:
    """Fail at once on an address no cluster answers on (Ray itself retries for minutes):
    a ConfigError for one that is not `auto` or [ray://]HOST:PORT, a SessionRuntimeError for
    a port nobody listens on."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65_536:
        raise ConfigError(f"--ray expects local, auto or HOST:PORT, was {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as error:
        raise SessionRuntimeError(
            f"cannot reach the Ray cluster at {address}: {error.strerror or error} "
            "(start one with `ray start --head`, or use --ray local)"
        ) from None


ANNUALISED = frozenset({"sharpe", "sortino", "cagr_pct"})


def ranking_metric(results: list[dict[str, Any]], asked: str | None) -> tuple[str, str | None]:
    """Return the metric to rank by and a note when it is not the one asked for (None: the
    default, sharpe): an annualised metric needs ANNUALISED_DAYS of data, and on a shorter span
    every point would rank as undefined, so the points rank by total return instead."""
    wanted = asked or "sharpe"
    span = min((row["span_days"] for row in results), default=0.0)
    if wanted not in ANNUALISED or span >= ANNUALISED_DAYS:
        return wanted, None
    return "total_return_pct", (
        f"ranked by total_return_pct: {wanted} needs {ANNUALISED_DAYS} days of data to be "
        f"annualised, and this data spans {span:.1f}"
    )


def rank(results: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Return the results best first by `metric`; undefined values go last."""

    def key(row: dict[str, Any]) -> tuple[bool, float]:
        value = row.get(metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (True, 0.0)
        return (False, -float(value))

    return sorted(results, key=key)


def inert_parameters(results: list[dict[str, Any]], names: Sequence[str]) -> list[str]:
    """Return the grid parameters whose values made no difference: wherever the other
    parameters are the same, every value of it gave exactly the same results."""
    inert = []
    for name in names:
        others = [n for n in names if n != name]
        outcomes: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
        values = set()
        for row in results:
            values.add(row[name])
            outcome = tuple(
                (key, repr(row[key])) for key in sorted(row) if key not in names and key != "index"
            )
            outcomes.setdefault(tuple(row[n] for n in others), set()).add(outcome)
        if len(values) > 1 and all(len(seen) == 1 for seen in outcomes.values()):
            inert.append(name)
    return inert
