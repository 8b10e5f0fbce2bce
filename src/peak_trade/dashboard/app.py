"""The dashboard's web application: a page, a JSON API under /api/, /metrics and /healthz.

Built on FastAPI (its OpenAPI description is at /openapi.json, browsable at /docs); the page
is static files that poll the API. Everything is read from the journals read-only at each
request: the dashboard never writes a journal, and any number of them can watch a session.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypeVar

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel

from peak_trade.core.version import __version__
from peak_trade.dashboard.reader import MAX_PAGE, JournalSet, RunNotFoundError
from peak_trade.session.controls import COMMANDS, send_command

__all__ = ["EVENT_KINDS", "create_app"]

# the event kinds the API pages through (the journal's own names)
EVENT_KINDS = (
    "order",
    "fill",
    "order_denied",
    "order_skipped",
    "order_validated",
    "target_changed",
    "trading_state",
    "feed_event",
    "step_failed",
)
_T = TypeVar("_T")
_STATES = ("running", "finished", "failed", "crashed")
_TRADING = ("active", "reducing", "halted")


def create_app(journals: JournalSet, token: str | None = None) -> FastAPI:
    """Return the dashboard's application over `journals`; with a `token`, the operator
    controls too, for requests that bear it (`Authorization: Bearer TOKEN`)."""
    app = FastAPI(
        title="Peak Trade dashboard",
        version=__version__,
        description="The runs in Peak Trade's journals, read-only.",
    )
    static = resources.files("peak_trade.dashboard") / "static"

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(static / "index.html"))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Say the dashboard is up, and which journals it reads."""
        return {"status": "ok", "journals": [str(path) for path in journals.paths]}

    @app.get("/api/runs")
    def runs() -> dict[str, Any]:
        """Every run of every journal with its state."""
        return {"runs": [run.to_dict() for run in journals.runs()]}

    @app.get("/api/runs/{run_id}")
    def run(run_id: str) -> dict[str, Any]:
        """One run: its status, config, settings, summary and trading-state history."""
        return _found(lambda: journals.detail(run_id))

    @app.get("/api/runs/{run_id}/series")
    def series(run_id: str, points: int = Query(1_000, ge=10, le=10_000)) -> dict[str, Any]:
        """The run's bars, decimated: close, equity and drawdown over time."""
        return _found(lambda: journals.series(run_id, points))

    @app.get("/api/runs/{run_id}/events")
    def events(
        run_id: str,
        kind: str = Query(..., description=f"one of {', '.join(EVENT_KINDS)}"),
        offset: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=MAX_PAGE),
    ) -> dict[str, Any]:
        """A page of the run's events of one kind, oldest first."""
        if kind not in EVENT_KINDS:
            raise HTTPException(422, f"kind must be one of {', '.join(EVENT_KINDS)}")
        return _found(lambda: journals.events(run_id, kind, offset, limit))

    _add_controls(app, journals, token)

    registry = CollectorRegistry()
    registry.register(_RunCollector(journals))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


def _add_controls(app: FastAPI, journals: JournalSet, token: str | None) -> None:
    """Add the operator's endpoints: whether controls are on, and sending a command."""

    @app.get("/api/controls")
    def controls() -> dict[str, Any]:
        """Whether the operator controls are on (a token was given), and the commands."""
        return {"enabled": token is not None, "commands": list(COMMANDS)}

    @app.post("/api/runs/{run_id}/control", status_code=202)
    def control(
        run_id: str,
        order: Command,
        request: Request,
        authorization: str | None = Header(None),
    ) -> dict[str, Any]:
        """Send a running run an operator command (halt, reduce, activate, stop); it applies
        it before its next poll. Needs the dashboard's token."""
        if token is None:
            raise HTTPException(
                403,
                "operator controls are off: start the dashboard with "
                "$PEAK_TRADE_DASHBOARD_TOKEN set to turn them on",
            )
        given = (authorization or "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a control needs the dashboard's token (Bearer)")
        if order.command not in COMMANDS:
            raise HTTPException(422, f"command must be one of {', '.join(COMMANDS)}")
        state, path = _found(lambda: journals.control_file(run_id))
        if state != "running":
            raise HTTPException(409, f"run {run_id} is {state}, not running")
        host = request.client.host if request.client else "unknown"
        send_command(path, order.command, f"dashboard, {host}", datetime.now(UTC))
        return {"sent": order.command, "run_id": run_id}


class Command(BaseModel):
    """An operator's command."""

    command: str


def _found(read: Callable[[], _T]) -> _T:
    try:
        return read()
    except RunNotFoundError as missing:
        raise HTTPException(404, f"no run {missing.args[0]!r} in the journals") from None


# the gauges per run: name, help, and the label of a table's rows (None: one value)
_GAUGES = (
    ("equity", "Equity at the last bar", None),
    ("position", "Position in the base currency", None),
    ("cash", "Cash at the last bar", None),
    ("drawdown", "Amount below the peak at the last bar", None),
    ("bars", "Bars traded", None),
    ("seconds_since_bar_close", "Seconds since a running run's last bar closed", None),
    ("fees", "Fees paid", None),
    ("orders", "Orders by what became of them", "status"),
    ("denials", "Denied orders by rule", "rule"),
    ("feed_events", "Feed problems by kind", "kind"),
    ("run_state", "1 for the run's state", "state"),
    ("trading_state", "1 for the trading state", "trading"),
)


class _RunCollector(Collector):
    """Per-run gauges for Prometheus, read from the journals at each scrape."""

    def __init__(self, journals: JournalSet) -> None:
        self.journals = journals

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["run", "strategy", "symbol", "mode"]
        families = {
            name: GaugeMetricFamily(
                f"peak_trade_{name}", text, labels=labels if row is None else [*labels, row]
            )
            for name, text, row in _GAUGES
        }
        for run, count in self.journals.measured():
            names = [run.run_id, run.strategy, run.symbol, run.mode]
            values: dict[str, Any] = {
                "equity": run.equity,
                "position": run.position,
                "cash": count["cash"],
                "drawdown": count["drawdown"],
                "bars": run.bars,
                "seconds_since_bar_close": run.seconds_since_close,
                "fees": count["fees"],
                "orders": count["orders"],
                "denials": count["denials"],
                "feed_events": count["feed"],
                "run_state": {name: float(run.state == name) for name in _STATES},
                "trading_state": {name: float(run.trading_state == name) for name in _TRADING},
            }
            for name, value in values.items():
                if isinstance(value, dict):
                    for row, number in value.items():
                        families[name].add_metric([*names, row], float(number))
                elif value is not None:
                    families[name].add_metric(names, float(value))
        yield from families.values()
