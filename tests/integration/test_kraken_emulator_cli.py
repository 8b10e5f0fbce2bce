"""The emulator as a program: prints its URL first, serves Kraken's shapes, stops on SIGTERM."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from peak_trade.core.errors import VenueUnavailableError
from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.nonce import NonceStore
from peak_trade.kraken.parsing import find_pair, parse_ohlc
from peak_trade.kraken.signing import kraken_signature
from peak_trade.testing.kraken_emulator import KrakenEmulator
from peak_trade.testing.kraken_emulator.server import CONTROL_PATH

EMULATOR = (sys.executable, "-m", "peak_trade.testing.kraken_emulator")


def test_emulator_program_serves_until_terminated(tmp_path: Path) -> None:
    secret = base64.b64encode(b"cli-secret").decode()
    with subprocess.Popen(
        [
            *EMULATOR,
            "--port",
            "0",
            "--api-key",
            "cli-key",
            "--api-secret",
            secret,
            "--history",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            client = KrakenClient(
                url,
                5.0,
                api_key="cli-key",
                api_secret=secret,
                nonce_store=NonceStore(tmp_path / "n"),
            )
            pair_id, _ = find_pair(client.asset_pairs(), "BTC/EUR")
            page = parse_ohlc(client.ohlc(pair_id, 1), pair_id)
            # 300 closed at start, and one more if a minute ended since (wall-clock time)
            assert len(page.closed) in (300, 301)
            assert page.forming is not None
            assert page.forming.time - page.closed[-1].time == timedelta(minutes=1)
            answer = client.validate_order(
                pair_id=pair_id,
                side="sell",
                order_type="limit",
                volume="0.5",
                price="60000.0",
                userref=7,
            )
            assert answer["descr"]["order"] == "sell 0.50000000 XBTEUR @ limit 60000.0"
            assert client.server_time() > 1_700_000_000
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
    assert process.returncode == 0


def test_emulator_program_can_serve_recorded_candles(tmp_path: Path) -> None:
    recorded = list(SyntheticMarket(seed=5, bars=50))
    path = write_replay(tmp_path / "bars.csv", recorded)
    with subprocess.Popen(
        [
            *EMULATOR,
            "--api-key",
            "k",
            "--api-secret",
            base64.b64encode(b"s").decode(),
            "--data-path",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            client = KrakenClient(process.stdout.readline().strip(), 5.0)
            page = parse_ohlc(client.ohlc("XXBTZEUR", 1), "XXBTZEUR")
            assert [bar.close for bar in page.closed] == pytest.approx(
                [bar.close for bar in recorded], rel=1e-9
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def _control(url: str, method: str, faults: list[str] | None = None) -> dict[str, Any]:
    body = None if faults is None else json.dumps({"faults": faults}).encode()
    request = urllib.request.Request(f"{url}{CONTROL_PATH}", data=body, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback only
        result: dict[str, Any] = json.loads(answer.read())
    return result


def test_faults_are_scripted_from_the_command_line_and_while_it_runs(tmp_path: Path) -> None:
    # Arrange: an emulator started with an outage of 2 s and two HTTP 500s after it
    secret = base64.b64encode(b"s").decode()
    command = [
        *EMULATOR,
        "--api-key",
        "k",
        "--api-secret",
        secret,
        "--history",
        "100",
        "--fault",
        "outage:2",
        "--fault",
        "http_500:2",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            client = KrakenClient(url, 5.0)

            # Act / Assert: down first, then the 500s, then served again
            with pytest.raises(VenueUnavailableError):
                client.ohlc("XXBTZEUR", 1)
            while _control(url, "GET")["outage_until"] and _is_down(client):
                time.sleep(0.2)
            for _ in range(2):
                with pytest.raises(VenueUnavailableError, match="500"):
                    client.ohlc("XXBTZEUR", 1)
            assert len(parse_ohlc(client.ohlc("XXBTZEUR", 1), "XXBTZEUR").closed) >= 100
            # more faults while it runs: a rate limit and a gap of 5 bars
            queued = _control(url, "POST", ["rate_limit", "gap:5"])
            assert queued["queued"] == {"rate_limit@OHLC": 1, "gap@OHLC-gap": 1}
            with pytest.raises(VenueUnavailableError, match="Rate limit"):
                client.ohlc("XXBTZEUR", 1)
            page = parse_ohlc(client.ohlc("XXBTZEUR", 1), "XXBTZEUR")
            times = [bar.time for bar in page.closed]
            assert max(b - a for a, b in pairwise(times)) == timedelta(minutes=6)
            status = _control(url, "GET")
            assert status["injected"]["http_500"] == 2
            assert status["injected"]["rate_limit"] == 1
            assert status["injected"]["gap"] == 1
            assert status["injected"]["outage"] >= 1
            assert status["queued"] == {}
            _control(url, "POST", ["service:3"])
            assert _control(url, "DELETE")["queued"] == {}
            client.ohlc("XXBTZEUR", 1)  # cleared: served at once
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
    assert process.returncode == 0


def _is_down(client: KrakenClient) -> bool:
    try:
        client.server_time()
    except VenueUnavailableError as error:
        return "503" in str(error)
    return False


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("flood", "'flood': expected KIND[:ARGS], repeatable: http_500, timeout"),
        ("outage:forever", "'outage:forever': expected outage:SECONDS with SECONDS in (0, 86400]"),
        ("http_500:0", "'http_500:0': expected a count from 1 to 100000, was '0'"),
        ("timeout:2:Balance", "expected timeout[:COUNT[:ENDPOINT]] with ENDPOINT one of OHLC"),
    ],
)
def test_a_wrong_fault_is_a_usage_error(fault: str, message: str) -> None:
    result = subprocess.run(
        [
            *EMULATOR,
            "--api-key",
            "k",
            "--api-secret",
            "cw==",
            "--fault",
            fault,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("validate", "placed"), [("true", False), ("false", True), (None, True)])
def test_the_emulator_reads_validate_as_kraken_documents_it(
    validate: str | None, placed: bool
) -> None:
    emulator = KrakenEmulator([], Timeframe("1m"), lambda: datetime.now(UTC))
    answer = emulator.add_order(*_signed_add_order(emulator, validate))
    assert answer["error"] == []
    assert ("txid" in answer["result"]) is placed
    assert emulator.add_orders[-1].validate is not placed


@pytest.mark.parametrize("validate", ["TRUE", "True", "1", "yes", ""])
def test_the_emulator_refuses_any_other_spelling_of_validate(validate: str) -> None:
    emulator = KrakenEmulator([], Timeframe("1m"), lambda: datetime.now(UTC))
    answer = emulator.add_order(*_signed_add_order(emulator, validate))
    assert answer == {"error": ["EGeneral:Invalid arguments:validate"]}
    assert emulator.add_orders[-1].validate is False


def _signed_add_order(
    emulator: KrakenEmulator, validate: str | None
) -> tuple[str, dict[str, str], str]:
    path = "/0/private/AddOrder"
    fields = {"nonce": "1", "pair": "XXBTZEUR", "type": "buy", "ordertype": "market"}
    fields["volume"] = "0.001"
    if validate is not None:
        fields["validate"] = validate
    body = urllib.parse.urlencode(fields)
    sign = kraken_signature(path, "1", body, emulator.api_secret)
    return path, {"API-Key": emulator.api_key, "API-Sign": sign}, body
