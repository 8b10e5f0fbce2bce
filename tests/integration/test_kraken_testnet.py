"""Testnet mode against the loopback emulator: every order validated by Kraken, never placed."""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peak_trade.core.errors import AuthError, ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.store import Journal
from peak_trade.orders.base import OrderStatus
from peak_trade.orders.kraken_testnet import userref_for
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.testing.kraken_emulator import Fault
from tests.integration.conftest import KEY, SECRET, Exchange

REPO = Path(__file__).parents[2]
KEY_VAR, SECRET_VAR = "KRAKEN_TESTNET_API_KEY", "KRAKEN_TESTNET_API_SECRET"


def _config(kraken: Exchange, tmp_path: Path) -> PeakConfig:
    return PeakConfig.from_mapping(
        {"exchange": {"kraken": {"base_url": kraken.url, "nonce_file": str(tmp_path / "nonce")}}}
    )


def _runner(
    kraken: Exchange, tmp_path: Path, journal: Journal | None = None, **changes: object
) -> LiveSessionRunner:
    config = LiveSessionConfig(mode="testnet", data_source="synthetic", **changes)  # type: ignore[arg-type]
    return LiveSessionRunner.from_config(config, _config(kraken, tmp_path), journal=journal)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, KEY)
    monkeypatch.setenv(SECRET_VAR, SECRET)


@pytest.mark.usefixtures("keys")
def test_testnet_session_validates_every_order_then_fills_it(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange
    journal = Journal(tmp_path / "j.sqlite")
    runner = _runner(kraken, tmp_path, journal)
    runner.warmup()
    # Act
    runner.run_n_steps(1_500)
    # Assert: the exchange saw one signed, validate-only AddOrder per order sent
    calls = kraken.emulator.add_orders
    sent = [o for o in runner.pipeline.orders.values() if o.status is not OrderStatus.REJECTED]
    assert len(calls) == len(sent) >= 20
    assert all(call.signature_ok and call.key_ok and call.validate for call in calls)
    assert all(call.error is None for call in calls)
    nonces = [call.nonce for call in calls]
    assert nonces == sorted(set(nonces))
    assert {int(call.fields["userref"]) for call in calls} == {
        userref_for(order.request.client_id) for order in sent
    }
    # the journal shows each order validated by the exchange, then filled by the shadow model
    events = list(journal.events(runner.run_id, "order_validated", "fill"))
    first_seen: dict[str, list[str]] = {}
    for event in events:
        first_seen.setdefault(event.payload["client_id"], []).append(event.kind)
    filled = [kinds for kinds in first_seen.values() if "fill" in kinds]
    assert filled
    assert all(kinds == ["order_validated", "fill"] for kinds in filled)
    validated = next(journal.events(runner.run_id, "order_validated"))
    assert validated.payload["detail"].endswith("XBTEUR @ market")
    assert runner.metrics.orders_executed == len(filled)
    assert runner.metrics.orders_validated == len(calls)  # the summary counts each


@pytest.mark.usefixtures("keys")
def test_a_kraken_rejection_rejects_that_order_and_it_is_tried_again(
    kraken: Exchange, tmp_path: Path
) -> None:
    kraken.emulator.script(Fault("AddOrder", "insufficient_funds"))
    runner = _runner(kraken, tmp_path)
    runner.warmup()
    runner.run_n_steps(400)
    first = runner.pipeline.history[0]
    assert first.status is OrderStatus.REJECTED
    assert first.reason == "Kraken AddOrder: EOrder:Insufficient funds"
    assert runner.metrics.orders_rejected == 1
    assert runner.metrics.orders_executed >= 1


def test_wrong_secret_stops_the_session_with_an_auth_error(
    kraken: Exchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = base64.b64encode(b"not-the-right-secret").decode()
    monkeypatch.setenv(KEY_VAR, KEY)
    monkeypatch.setenv(SECRET_VAR, wrong)
    runner = _runner(kraken, tmp_path)
    runner.warmup()
    with pytest.raises(AuthError, match="Kraken AddOrder: EAPI:Invalid signature") as caught:
        runner.run_n_steps(1_000)
    assert wrong not in str(caught.value)
    assert runner.stop_reason is not None
    assert runner.stop_reason.startswith("AuthError")


# --- the command line -----------------------------------------------------------------------


def _cli_config(kraken: Exchange, tmp_path: Path) -> Path:
    text = (REPO / "config" / "config.toml").read_text()
    text = text.replace('base_url = "https://api.kraken.com"', f'base_url = "{kraken.url}"')
    text = text.replace('nonce_file = "journal/kraken.nonce"', f'nonce_file = "{tmp_path}/nonce"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _cli(
    kraken: Exchange, tmp_path: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in __import__("os").environ.items() if k not in (KEY_VAR, SECRET_VAR)}
    command = [
        sys.executable,
        str(REPO / "scripts" / "run_execution_session.py"),
        "--config",
        str(_cli_config(kraken, tmp_path)),
        "--mode",
        "testnet",
        "--data",
        "synthetic",
        "--no-sleep",
        "--journal",
        str(tmp_path / "journal.sqlite"),
        *args,
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=base | env,
        check=False,
    )


def test_testnet_without_keys_fails_at_start_with_exit_2(kraken: Exchange, tmp_path: Path) -> None:
    result = _cli(kraken, tmp_path, {}, "--steps", "10")
    assert result.returncode == 2
    assert (
        f"testnet mode needs the Kraken API key in ${KEY_VAR} and its secret in "
        f"${SECRET_VAR}" in result.stderr
    )
    assert kraken.emulator.requests == []


def test_a_secret_that_is_not_base64_fails_at_start_with_exit_2_and_is_not_shown(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Kraken's secrets are base64; this one would fail only when the first order is signed
    secret = "copied-with-a-stray-quote-'"  # noqa: S105 (a test's wrong secret)
    result = _cli(kraken, tmp_path, {KEY_VAR: KEY, SECRET_VAR: secret}, "--steps", "600")
    assert result.returncode == 2
    assert (
        f"${SECRET_VAR} is not base64 text, as Kraken's API secrets are; copy it again from "
        "Kraken" in result.stderr
    )
    assert secret not in result.stderr + result.stdout
    assert kraken.emulator.requests == []


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_a_nonce_file_that_cannot_be_written_is_refused_at_start(
    kraken: Exchange, tmp_path: Path, where: str
) -> None:
    # it failed at the first order, five steps in a row, with a FileNotFoundError
    (tmp_path / "afile").write_text("")
    (tmp_path / "folder").mkdir()
    nonce = tmp_path / "afile" / "nonce" if where == "under_a_file" else tmp_path / "folder"
    blocked = tmp_path / ("afile" if where == "under_a_file" else "folder")
    cfg = PeakConfig.from_mapping(
        {"exchange": {"kraken": {"base_url": kraken.url, "nonce_file": str(nonce)}}}
    )
    config = LiveSessionConfig(mode="testnet", data_source="synthetic")
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"cannot keep nonces in {nonce} ([exchange.kraken] nonce_file): {blocked} is not a "
            "writable file or folder"
        ),
    ):
        LiveSessionRunner.from_config(config, cfg)
    assert kraken.emulator.requests == []


def test_keys_can_come_from_a_dotenv_file(kraken: Exchange, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"{KEY_VAR}={KEY}\n{SECRET_VAR}={SECRET}\n")
    result = _cli(kraken, tmp_path, {}, "--steps", "300", "--json")
    assert result.returncode == 0, result.stderr
    assert kraken.emulator.add_orders


def test_wrong_secret_exits_1_and_secrets_never_appear_anywhere(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: one good run and one with a wrong secret, both logging at DEBUG
    wrong = base64.b64encode(b"a-wrong-secret-that-must-not-leak").decode()
    good = _cli(
        kraken,
        tmp_path,
        {KEY_VAR: KEY, SECRET_VAR: SECRET},
        "--steps",
        "600",
        "--log-level",
        "DEBUG",
        "--run-id",
        "good",
    )
    bad = _cli(
        kraken,
        tmp_path,
        {KEY_VAR: KEY, SECRET_VAR: wrong},
        "--steps",
        "600",
        "--log-level",
        "DEBUG",
        "--run-id",
        "bad",
    )
    # Assert: exit codes
    assert good.returncode == 0, good.stderr
    assert bad.returncode == 1
    assert "failed: Kraken AddOrder: EAPI:Invalid signature" in bad.stderr
    # and no key or secret in any output, log, journal row or report file
    texts = [good.stdout, good.stderr, bad.stdout, bad.stderr]
    files = [
        p for p in tmp_path.rglob("*") if p.is_file() and p.name not in (".env", "config.toml")
    ]
    assert any(p.suffix == ".sqlite" for p in files)
    assert any(p.name == "summary.json" for p in files)
    blobs = [text.encode() for text in texts] + [p.read_bytes() for p in files]
    for secret in (KEY, SECRET, wrong):
        assert not any(secret.encode() in blob for blob in blobs), secret
    assert all(call.validate for call in kraken.emulator.add_orders)


def test_sigterm_during_a_kraken_warmup_stops_it_at_once_with_nothing_written(
    kraken: Exchange, tmp_path: Path
) -> None:
    # Arrange: Kraken is down, and the session would wait 30 s before asking again
    kraken.emulator.outage(3600)
    config = _cli_config(kraken, tmp_path)
    config.write_text(config.read_text().replace("backoff_seconds = 1.0", "backoff_seconds = 30.0"))
    assert "backoff_seconds = 30.0" in config.read_text()
    command = [
        sys.executable,
        "-m",
        "peak_trade.cli.main",
        "session",
        "--config",
        str(config),
        "--data",
        "kraken",
        "--journal",
        str(tmp_path / "j.sqlite"),
        "--steps",
        "5",
    ]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        deadline = time.monotonic() + 60
        while not kraken.emulator.injected["outage"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kraken.emulator.injected["outage"] == 1  # the first request, now waiting 30 s

        # Act
        process.send_signal(signal.SIGTERM)
        # a session that waited out its backoff would still be waiting when this gives up
        stdout, stderr = process.communicate(timeout=15)

    # Assert: exit 0, said so, and no journal of a run that never started
    assert process.returncode == 0, stderr
    assert "stopped during its warmup (received SIGTERM); nothing was traded or journaled" in (
        stderr
    )
    assert "Traceback" not in stderr
    assert stdout == ""
    assert not (tmp_path / "j.sqlite").exists()
    assert kraken.emulator.injected["outage"] == 1
