"""The emulator as a program: prints its URL first, serves Kraken's shapes, stops on SIGTERM."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from peak_trade.data.replay import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.nonce import NonceStore
from peak_trade.kraken.parsing import find_pair, parse_ohlc


def test_emulator_program_serves_until_terminated(tmp_path: Path) -> None:
    secret = base64.b64encode(b"cli-secret").decode()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "peak_trade.testing.kraken_emulator",
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
            sys.executable,
            "-m",
            "peak_trade.testing.kraken_emulator",
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
