"""`peak-trade dashboard` on 127.0.0.1: its API, its metrics, and its page in a real headless
Chromium, updating itself while a session runs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By

from peak_trade.journal.store import Journal
from peak_trade.testing.browser import headless_chromium, page_wait
from peak_trade.testing.cli import run_peak, spawn_peak, wait_for_bars


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a finished backtest and a finished session whose entries were denied."""
    folder = tmp_path_factory.mktemp("home")
    (folder / "config.toml").write_text("[live_risk]\nmax_order_notional = 10.0\n")
    backtest = ("backtest", "--data", "synthetic", "--bars", "3000", "--no-risk-limits")
    assert run_peak(*backtest, "--run-id", "bt", cwd=folder).returncode == 0
    session = ("session", "--data", "synthetic", "--steps", "500", "--no-sleep")
    assert run_peak(*session, "--run-id", "denied", "--no-registry", cwd=folder).returncode == 0
    return folder


@pytest.fixture
def dashboard(home: Path) -> Iterator[str]:
    """The dashboard command itself, on a free port; its first line of output is its address."""
    process = spawn_peak("dashboard", "--port", "0", cwd=home)
    yield _address(process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def _address(process: subprocess.Popen[str]) -> str:
    """Return a dashboard's address (its first line of output) once it answers there."""
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "healthz", timeout=1).close()  # noqa: S310 (loopback)
            break
        except OSError:
            time.sleep(0.1)
    return url


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read())


def _status(url: str) -> int:
    try:
        urllib.request.urlopen(url, timeout=10).close()  # noqa: S310 (loopback)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def test_the_api_lists_runs_pages_events_and_serves_a_decimated_series(dashboard: str) -> None:
    assert dashboard.startswith("http://127.0.0.1:")
    runs = {run["run_id"]: run for run in _get(dashboard + "api/runs")["runs"]}
    assert {name: run["state"] for name, run in runs.items()} == {
        "denied": "finished",
        "bt": "finished",
    }
    detail = _get(dashboard + "api/runs/bt")
    assert detail["status"]["bars"] == 2_800
    assert detail["summary"]["ledger"]["equity"] == runs["bt"]["equity"]
    series = _get(dashboard + "api/runs/bt/series?points=100")
    assert 50 <= len(series["time"]) <= 101
    assert series["time"] == sorted(series["time"])
    pairs = zip(series["close_low"], series["close_high"], strict=True)
    assert all(low <= high for low, high in pairs)
    first = _get(dashboard + "api/runs/bt/events?kind=fill&limit=5")
    second = _get(dashboard + "api/runs/bt/events?kind=fill&offset=5&limit=5")
    assert first["total"] == second["total"] == detail["summary"]["metrics"]["orders_executed"]
    assert [e["seq"] for e in first["events"]] < [e["seq"] for e in second["events"]]
    denials = _get(dashboard + "api/runs/denied/events?kind=order_denied")
    assert denials["total"] > 0
    assert "max_order_notional" in denials["events"][0]["reasons"][0]
    assert _status(dashboard + "api/runs/nope") == 404
    assert _status(dashboard + "api/runs/bt/events?kind=nonsense") == 422
    assert "/api/runs/{run_id}/series" in _get(dashboard + "openapi.json")["paths"]


def test_metrics_are_prometheus_text_with_each_runs_figures(dashboard: str) -> None:
    with urllib.request.urlopen(dashboard + "metrics", timeout=10) as answer:  # noqa: S310
        kind, text = answer.headers["Content-Type"], answer.read().decode()
    equity = _get(dashboard + "api/runs/bt")["status"]["equity"]
    assert kind.startswith("text/plain")
    labels = 'mode="shadow",run="bt",strategy="ma_crossover",symbol="BTC/EUR"'
    assert f"peak_trade_equity{{{labels}}} {float(equity)!r}" in text
    assert f"peak_trade_bars{{{labels}}} 2800.0" in text
    state = 'mode="shadow",run="bt",state="finished",strategy="ma_crossover",symbol="BTC/EUR"'
    assert f"peak_trade_run_state{{{state}}} 1.0" in text
    fills = _get(dashboard + "api/runs/bt/events?kind=fill&limit=1000")
    filled = 'mode="shadow",run="bt",status="filled",strategy="ma_crossover",symbol="BTC/EUR"'
    assert f"peak_trade_orders{{{filled}}} {float(fills['total'])!r}" in text
    fees = sum(float(fill["fee"]) for fill in fills["events"])
    line = next(row for row in text.splitlines() if row.startswith(f"peak_trade_fees{{{labels}}}"))
    assert float(line.rpartition(" ")[2]) == pytest.approx(fees, rel=1e-9)
    rule = 'mode="shadow",rule="risk:max_order_notional",run="denied"'
    denied = next(row for row in text.splitlines() if row.startswith(f"peak_trade_denials{{{rule}"))
    assert float(denied.rpartition(" ")[2]) > 0


def test_the_page_shows_the_runs_and_a_runs_charts_fills_and_denials(
    dashboard: str, tmp_path: Path
) -> None:
    browser = headless_chromium()
    try:
        browser.get(dashboard)
        wait = page_wait(browser, 30)
        rows = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#runs tbody tr"))
        assert len(rows) == 2
        backtest = browser.find_element(By.CSS_SELECTOR, '#runs tr[data-run="bt"]')
        assert "finished" in backtest.text
        assert "2,800" in backtest.text
        backtest.click()
        fills = _get(dashboard + "api/runs/bt/events?kind=fill&limit=1")["total"]
        wait.until(lambda b: b.find_element(By.ID, "fill-count").text == f"({fills})")
        shown = browser.find_elements(By.CSS_SELECTOR, "#fills tbody tr")
        assert len(shown) == min(fills, 200)
        for chart in ("price", "equity", "drawdown"):
            assert browser.find_elements(By.CSS_SELECTOR, f"#{chart} canvas")
        assert "bt: ma_crossover on BTC/EUR 1m" in browser.find_element(By.ID, "run-title").text
        browser.save_screenshot(str(tmp_path / "bt.png"))
        browser.find_element(By.CSS_SELECTOR, '#runs tr[data-run="denied"]').click()
        wait.until(lambda b: "max_order_notional" in b.find_element(By.ID, "denials").text)
        assert '"strategy_key": "ma_crossover"' in browser.find_element(By.ID, "config").text
    finally:
        browser.quit()


def test_the_page_follows_a_running_session(home: Path, tmp_path: Path) -> None:
    # its own folder and no limits: a session that waits 0.1 s between bars, watched as it runs
    folder = tmp_path / "live"
    shutil.copytree(home, folder)
    (folder / "config.toml").write_text("")
    session = ("session", "--data", "synthetic", "--poll-interval", "0.1", "--steps", "100000")
    process = spawn_peak(*session, "--run-id", "live", cwd=folder, quiet=True)
    server = spawn_peak("dashboard", "--port", "0", cwd=folder)
    browser = headless_chromium()
    try:
        journal = folder / "journal" / "peak_trade.sqlite"
        wait_for_bars(journal, "live", 2)
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        browser.get(url + "?run=live")
        wait = page_wait(browser, 60)
        row = '#runs tr[data-run="live"]'
        bars = f"{row} td:nth-child(6)"
        wait.until(lambda b: "running" in b.find_element(By.CSS_SELECTOR, row).text)

        def count(b: Any) -> int:
            return int(b.find_element(By.CSS_SELECTOR, bars).text.replace(",", ""))

        first = count(browser)
        points = len(_get(url + "api/runs/live/series")["time"])
        # the row and the chart move on, and fills appear, without a reload
        wait.until(
            lambda b: int(b.find_element(By.CSS_SELECTOR, bars).text.replace(",", "")) > first
        )
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#fills tbody tr"))
        assert len(_get(url + "api/runs/live/series")["time"]) > points
        assert browser.find_elements(By.CSS_SELECTOR, "#price canvas")
    finally:
        browser.quit()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    # stopped: /metrics, status and the journal tell one equity
    with urllib.request.urlopen(url + "metrics", timeout=10) as answer:  # noqa: S310 (loopback)
        families = list(text_string_to_metric_families(answer.read().decode()))
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=30)
    equity = next(
        sample.value
        for family in families
        if family.name == "peak_trade_equity"
        for sample in family.samples
        if sample.labels["run"] == "live"
    )
    shown = json.loads(run_peak("status", "live", "--json", cwd=folder).stdout)["runs"][0]
    with Journal(journal, read_only=True) as opened:
        stopped = next(opened.events("live", "run_stopped")).payload
    assert equity == float(shown["equity"]) == float(stopped["summary"]["ledger"]["equity"])
    assert (process.returncode, server.returncode) == (0, 0)


def test_a_portfolio_shows_its_first_legs_price_the_accounts_equity_and_all_fills(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.toml").write_text("[live_risk]\n")
    legs = ("--leg", "ma_crossover:BTC/EUR", "--leg", "rsi_reversion:ETH/EUR")
    backtest = ("backtest", *legs, "--data", "synthetic", "--bars", "3000", "--run-id", "pf")
    assert run_peak(*backtest, cwd=tmp_path).returncode == 0
    server = spawn_peak("dashboard", "--port", "0", cwd=tmp_path)
    browser = headless_chromium()
    try:
        url = _address(server)
        runs = _get(url + "api/runs")["runs"]
        assert [(run["run_id"], run["bars"], run["positions"] is not None) for run in runs] == [
            ("pf", 2 * 2800, True)
        ]
        fills = _get(url + "api/runs/pf/events?kind=fill&limit=500")
        symbols = {event["symbol"] for event in fills["events"]}
        assert symbols == {"BTC/EUR", "ETH/EUR"}
        assert [e["seq"] for e in fills["events"]] == sorted(e["seq"] for e in fills["events"])
        metrics = urllib.request.urlopen(url + "metrics", timeout=10).read().decode()  # noqa: S310
        filled = 'peak_trade_orders{mode="shadow",run="pf",status="filled"'
        assert any(line.startswith(filled) and line.endswith(f" {fills['total']}.0")
                   for line in metrics.splitlines())  # fmt: skip
        browser.get(url)
        wait = page_wait(browser, 30)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, '#runs tr[data-run="pf"]'))[0].click()
        wait.until(lambda b: b.find_element(By.ID, "fill-count").text == f"({fills['total']})")
        title = browser.find_element(By.ID, "price-title").text
        assert (
            title == "Price of BTC/EUR (the first of 2 legs), with its entries, exits and denials"
        )
        assert browser.find_element(By.ID, "equity-title").text == "Equity of the account"
        assert "ETHEUR-" in browser.find_element(By.ID, "fills").text
        browser.save_screenshot(str(tmp_path / "portfolio.png"))
    finally:
        browser.quit()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
