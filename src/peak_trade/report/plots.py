"""The report's figures: a run's equity.png and a sweep's heatmap.png.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, no window, nothing global. A
long run is drawn as an envelope (the lowest and highest value of the bars each pixel column
stands for), so a plot loses no peak or trough and costs the same at any length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
_PLOT_POINTS = 2_000  # an 11-inch figure at 100 dpi is 1,100 pixels wide
SIGNED_METRICS = frozenset({"sharpe", "sortino", "total_return_pct", "cagr_pct"})

__all__ = [
    "SIGNED_METRICS",
    "RunPicture",
    "draw_heatmap",
    "draw_portfolio",
    "draw_run",
    "drawdown_percent",
    "envelope",
]


@dataclass
class RunPicture:
    """What equity.png shows of a run: its bars as columns, times in epoch seconds, its fills
    (time, price, entry or exit) and where the trading state changed (time, new state, why)."""

    seconds: npt.NDArray[np.int64]
    close: Floats
    equity: Floats
    drawdown: Floats  # the amount below the peak, >= 0, as the journal has it
    start_balance: float
    fills: list[tuple[int, float, bool]] = field(default_factory=list)  # entry: True
    states: list[tuple[int, str, str]] = field(default_factory=list)


def envelope(
    columns: Sequence[Floats], points: int = _PLOT_POINTS
) -> tuple[Floats, list[Floats], list[Floats]]:
    """Return at most `points` + 1 x positions (bar numbers) and, per column, the lowest and
    the highest value of the bars each stands for. Each point holds from its x to the next
    one's (draw it with step="post"); a last point at the last bar repeats the last stretch's
    values, so the plot reaches the end. When each bar is its own point, a column's lows are
    its highs (the same array)."""
    n = len(columns[0])
    size = max(1, -(-n // points))  # bars per point, rounded up
    if size == 1:
        return np.arange(n, dtype=np.float64), list(columns), list(columns)
    starts = np.arange(0, n, size)
    lows = [np.minimum.reduceat(c, starts) for c in columns]
    highs = [np.maximum.reduceat(c, starts) for c in columns]
    if starts[-1] == n - 1:
        return starts.astype(np.float64), lows, highs
    lows = [np.append(c, c[-1]) for c in lows]
    highs = [np.append(c, c[-1]) for c in highs]
    return np.append(starts, n - 1).astype(np.float64), lows, highs


def drawdown_percent(equity: Floats, drawdown: Floats) -> Floats:
    """Return each bar's drawdown as a percent of its peak (the equity plus the amount below
    it, as the journal keeps it), drawn downward from 0."""
    peak = equity + drawdown
    return np.divide(-drawdown * 100, peak, out=np.zeros(len(drawdown)), where=peak > 0)


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # loaded on first use: commands that draw nothing

    return Figure(figsize=(width, height))


def draw_run(path: Any, picture: RunPicture, title: str, currency: str) -> None:
    """Draw the price with entries and exits, the equity beside buying and holding the same
    capital, and the drawdown in percent, over time; mark where the trading state changed."""
    figure = _figure(11, 8)
    price, worth, down = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 2, 1]}
    )
    n = len(picture.close)
    if n:
        close = picture.close
        held = picture.start_balance * close / close[0]  # bought at the first traded close
        below = drawdown_percent(picture.equity, picture.drawdown)
        steps, lows, highs = envelope([close, picture.equity, held, below])
        times = picture.seconds[steps.astype(np.int64)].astype("datetime64[s]")
        each = lows[0] is highs[0]
        for axes, k, colour, label in (
            (price, 0, "tab:gray", "close"),
            (worth, 1, "tab:blue", "strategy"),
            (worth, 2, "tab:orange", "buy and hold (no fees)"),
        ):
            if each:
                axes.plot(times, lows[k], color=colour, linewidth=1.0, label=label)
            else:
                axes.fill_between(
                    times, lows[k], highs[k], step="post", color=colour, linewidth=0.8, label=label
                )
        down.fill_between(times, lows[3], 0, step=None if each else "post", color="tab:red")
        _mark_fills(price, picture.fills)
        _mark_states(price, worth, down, picture.states)
        _date_axis(down)
    price.set_title(title)
    price.set_ylabel(f"price ({currency})")
    worth.set_ylabel(f"equity ({currency})")
    down.set_ylabel("drawdown %")
    _save(figure, path, (price, worth), down)


def draw_portfolio(path: Any, picture: RunPicture, legs: dict[str, Floats], title: str) -> None:
    """Draw a portfolio's account equity, each leg's contribution to its PnL and the drawdown
    in percent over time; mark where the account's trading state changed. (`picture.close`
    is not drawn: each leg has its own.)"""
    figure = _figure(11, 8)
    worth, parts, down = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [2, 2, 1]}
    )
    if len(picture.equity):
        names = list(legs)
        below = drawdown_percent(picture.equity, picture.drawdown)
        steps, lows, highs = envelope([picture.equity, below, *legs.values()])
        times = picture.seconds[steps.astype(np.int64)].astype("datetime64[s]")
        step = None if lows[0] is highs[0] else "post"
        worth.fill_between(times, lows[0], highs[0], step=step, color="tab:blue", label="account")
        for k, name in enumerate(names, start=2):  # a line, and the band the pixel spans
            (line,) = parts.step(times, highs[k], where="post", linewidth=0.9, label=name)
            parts.fill_between(
                times, lows[k], highs[k], step=step, alpha=0.3, color=line.get_color()
            )
        parts.axhline(0, color="k", linewidth=0.6)
        down.fill_between(times, lows[1], 0, step=step, color="tab:red")
        _mark_states(worth, parts, down, picture.states)
        _date_axis(down)
    worth.set_title(title)
    worth.set_ylabel("equity")
    parts.set_ylabel("PnL by leg")
    down.set_ylabel("drawdown %")
    _save(figure, path, (worth, parts), down)


def _date_axis(axes: Any) -> None:
    """Label the time axis with dates as long as they need to be."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _save(figure: Any, path: Any, upper: tuple[Any, ...], lowest: Any) -> None:
    """Grid every panel, give the upper ones their legends, and write the figure."""
    for axes in (*upper, lowest):
        axes.grid(alpha=0.3)
    for axes in upper:
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _mark_fills(axes: Any, fills: list[tuple[int, float, bool]]) -> None:
    for entry, marker, colour, label in (
        (True, "^", "tab:green", "entry"),
        (False, "v", "k", "exit"),
    ):
        chosen = [(t, p) for t, p, is_entry in fills if is_entry is entry]
        if chosen:
            times = np.array([t for t, _ in chosen], dtype="datetime64[s]")
            prices = [p for _, p in chosen]
            axes.scatter(times, prices, marker=marker, color=colour, s=28, zorder=3, label=label)


def _mark_states(*panels: Any) -> None:
    *axes_list, states = panels
    for second, state, reason in states:
        when = np.datetime64(second, "s")
        for axes in axes_list:
            axes.axvline(when, color="tab:purple", linestyle="--", linewidth=1.0)
        axes_list[0].annotate(
            f"{state.upper()}: {reason}"[:60],
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            color="tab:purple",
            fontsize="small",
        )


def draw_heatmap(
    path: Any,
    values: list[list[float]],
    names: tuple[str, str],
    ticks: tuple[list[str], list[str]],
    metric: str,
    title: str,
) -> None:
    """Draw `metric` over two parameters (`values[y][x]`, NaN where undefined); a signed
    metric's colours are centred on zero, so red is a loss and green a gain."""
    from matplotlib.colors import CenteredNorm

    figure = _figure(1.2 * len(ticks[0]) + 3, 0.8 * len(ticks[1]) + 2.4)
    axes = figure.subplots()
    norm = CenteredNorm(0.0) if metric in SIGNED_METRICS else None
    if norm is not None and not np.isfinite(values).any():
        norm = None  # nothing defined: nothing to centre
    image = axes.imshow(values, cmap="RdYlGn", aspect="auto", origin="lower", norm=norm)
    axes.set_xticks(range(len(ticks[0])), ticks[0])
    axes.set_yticks(range(len(ticks[1])), ticks[1])
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    for j, row_values in enumerate(values):
        for i, value in enumerate(row_values):
            axes.text(i, j, "n/a" if value != value else f"{value:.2f}", ha="center", va="center")
    figure.colorbar(image, label=metric)
    axes.set_title(title, fontsize="medium")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
