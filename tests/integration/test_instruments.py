"""Instrument rules that match the data: a file's prices finer than the symbol's price step
are refused, rules come from the file, the config or what is known offline, never a guess."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.data.candle_files import write_replay
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.testing.cli import run_peak

EUR_USD_RULES = '[instruments."EUR/USD"]\nprice_decimals = 5\nlot_decimals = 8\n'


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


@pytest.fixture(scope="module")
def eurusd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EUR/USD-like 1m candles: prices about 1.1, in steps of 0.00001."""
    market = SyntheticMarket(seed=9, bars=3_000, start_price=1.1, price_decimals=5)
    folder = tmp_path_factory.mktemp("fx")
    return write_replay(folder / "eurusd.csv", list(market))


def test_prices_finer_than_the_symbols_price_step_are_refused(eurusd: Path, tmp_path: Path) -> None:
    # read as BTC/EUR (step 0.1), every fill was rounded by up to 9 % and nothing said so
    (tmp_path / "c.toml").write_text("")
    done = run_peak("backtest", "--config", "c.toml", "--data-path", str(eurusd), cwd=tmp_path)

    assert done.returncode == 2
    first = _rows(eurusd)[0]
    name = next(n for n in ("open", "high", "low", "close") if len(first[n].split(".")[1]) > 1)
    assert done.stderr.strip() == (
        f"peak-trade: error: {eurusd}: row 1: {name} {first[name]} needs more "
        "decimals than BTC/EUR's price step 0.1: the candles are not of BTC/EUR, or its rules "
        'are not these (name the symbol with --symbol, or its rules in [instruments."BTC/EUR"] '
        "in the config)"
    )
    assert not (tmp_path / "reports").exists()


def test_a_symbol_without_known_rules_says_where_rules_come_from(
    eurusd: Path, tmp_path: Path
) -> None:
    (tmp_path / "c.toml").write_text("")
    args = ("backtest", "--config", "c.toml", "--data-path", str(eurusd), "--symbol", "ABC/XYZ")
    done = run_peak(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "peak-trade: error: no instrument rules for ABC/XYZ (its price and lot steps, minimum "
        "order size and cost): Kraken's AssetPairs snapshot (2026-01-12) does not list it; "
        'give them in [instruments."ABC/XYZ"] in the config, replay a file `peak-trade '
        "download` wrote (it carries them), or trade it with --data kraken"
    )


def test_the_snapshot_gives_eur_usd_its_own_steps(eurusd: Path, tmp_path: Path) -> None:
    # no config: Kraken's EUR/USD rules (price step 0.00001) come with the package
    (tmp_path / "c.toml").write_text("")
    args = ("backtest", "--config", "c.toml", "--data-path", str(eurusd), "--symbol", "EUR/USD")
    done = run_peak(*args, "--no-risk-limits", "--json", "--run-id", "fx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fills = _rows(tmp_path / "reports" / "fx" / "trades.csv")
    assert len(fills) > 10
    assert all(
        Decimal(f["price"]) == Decimal(f["price"]).quantize(Decimal("0.00001")) for f in fills
    )


def test_rules_from_the_config_trade_the_file_in_its_own_steps(
    eurusd: Path, tmp_path: Path
) -> None:
    (tmp_path / "c.toml").write_text(EUR_USD_RULES)
    args = ("backtest", "--config", "c.toml", "--data-path", str(eurusd), "--symbol", "EUR/USD")
    done = run_peak(*args, "--no-risk-limits", "--json", "--run-id", "fx", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ledger"]["currency"] == "USD"
    fills = _rows(tmp_path / "reports" / "fx" / "trades.csv")
    assert len(fills) > 10
    prices = [Decimal(fill["price"]) for fill in fills]
    # slippage moves a fill off the close, but only onto the 0.00001 grid, never to 0.1
    assert all(price == price.quantize(Decimal("0.00001")) for price in prices)
    assert len({price.quantize(Decimal("0.1")) for price in prices}) < len(set(prices))
    assert all(Decimal("0.5") < price < Decimal(2) for price in prices)


def test_a_synthetic_market_quotes_in_its_symbols_steps(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("")
    args = ("backtest", "--config", "c.toml", "--data", "synthetic", "--bars", "1000")
    done = run_peak(*args, "--symbol", "ETH/EUR", "--run-id", "eth", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    closes = [row["close"] for row in _rows(tmp_path / "reports" / "eth" / "equity.csv")]
    assert all(Decimal(c) == Decimal(c).quantize(Decimal("0.01")) for c in closes)
    assert any(Decimal(c) != Decimal(c).quantize(Decimal("0.1")) for c in closes)
