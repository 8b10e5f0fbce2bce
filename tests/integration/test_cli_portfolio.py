"""`peak-trade backtest --leg/--portfolio`: several legs from one account, end to end."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import CandleMeta, sidecar_of
from peak_trade.data.synthetic import portfolio_market
from peak_trade.testing.cli import run_peak

SYMBOLS = ("BTC/EUR", "ETH/EUR", "SOL/EUR")
DECIMALS = {"BTC/EUR": 1, "ETH/EUR": 2, "SOL/EUR": 2}


def _config(folder: Path, live_risk: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(f"[live_risk]\n{live_risk}\n")
    return path


def _summary(report: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((report / "summary.json").read_text())
    return summary


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _account_adds_up(summary: dict[str, Any]) -> None:
    ledger = summary["ledger"]
    held = sum(
        (Decimal(leg["position"]) * Decimal(leg["last_price"]) for leg in summary["legs"]),
        Decimal(0),
    )
    assert Decimal(ledger["cash"]) + held == Decimal(ledger["equity"])
    assert Decimal(ledger["equity"]) - Decimal(ledger["start_balance"]) == Decimal(
        ledger["net_pnl"]
    )
    contributions = sum((Decimal(leg["pnl"]) for leg in summary["legs"]), Decimal(0))
    assert contributions == Decimal(ledger["net_pnl"])


def test_three_synthetic_legs_trade_from_one_account(tmp_path: Path) -> None:
    legs = [
        "--leg=ma_crossover:BTC/EUR",
        "--leg=rsi_reversion:ETH/EUR",
        "--leg=breakout:SOL/EUR",
    ]
    done = run_peak(
        "backtest",
        *legs,
        "--data=synthetic",
        "--bars=6000",
        f"--config={_config(tmp_path)}",
        f"--report-dir={tmp_path / 'report'}",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert "Legs" in done.stdout
    assert "rsi_reversion:ETH/EUR" in done.stdout
    summary = _summary(tmp_path / "report")
    assert [leg["symbol"] for leg in summary["legs"]] == list(SYMBOLS)
    assert [leg["weight"] for leg in summary["legs"]] == ["0.333333"] * 3
    assert all(leg["bars"] == 6000 - 200 and leg["fills"] > 0 for leg in summary["legs"])
    _account_adds_up(summary)
    fills = _rows(tmp_path / "report" / "trades.csv")
    assert {row["symbol"] for row in fills} == set(SYMBOLS)
    by_leg = {s: sum(r["symbol"] == s for r in fills) for s in SYMBOLS}
    assert [by_leg[leg["symbol"]] for leg in summary["legs"]] == [
        leg["fills"] for leg in summary["legs"]
    ]
    assert (tmp_path / "report" / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    equity = _rows(tmp_path / "report" / "equity.csv")
    assert len(equity) == summary["bar_times"] == 5800
    assert float(equity[-1]["equity"]) == float(summary["ledger"]["equity"])


def _write_candles(folder: Path, bars: int) -> None:
    for symbol in SYMBOLS:
        market = portfolio_market(symbol, Timeframe("15m"), 11, bars, DECIMALS[symbol])
        chunk = next(iter(market.chunks()))
        frame = pd.DataFrame(
            {
                "time": pd.to_datetime(chunk.seconds, unit="s", utc=True),
                "open": chunk.open,
                "high": chunk.high,
                "low": chunk.low,
                "close": chunk.close,
                "volume": chunk.volume,
            }
        )
        if symbol == "SOL/EUR":  # a gap of 20 bars: SOL's leg waits through it
            frame = frame.drop(index=range(1000, 1020))
        frame.to_csv(folder / f"{symbol.split('/')[0].lower()}.csv", index=False)


def test_a_portfolio_file_replays_a_file_per_leg_and_holds_one_symbol_at_a_time(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_candles(data, 3000)
    portfolio = tmp_path / "portfolio.toml"
    portfolio.write_text(
        '[[leg]]\nstrategy = "ma_crossover"\nsymbol = "BTC/EUR"\ndata_path = "data/btc.csv"\n'
        "weight = 0.5\nparams = { fast_window = 10, slow_window = 40 }\n"
        '[[leg]]\nstrategy = "rsi_reversion"\nsymbol = "ETH/EUR"\ndata_path = "data/eth.csv"\n'
        '[[leg]]\nstrategy = "breakout"\nsymbol = "SOL/EUR"\ndata_path = "data/sol.csv"\n'
    )
    done = run_peak(
        "backtest",
        f"--portfolio={portfolio}",
        "--timeframe=15m",
        f"--config={_config(tmp_path, 'max_open_positions = 1')}",
        f"--report-dir={tmp_path / 'report'}",
        "--json",
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [leg["weight"] for leg in summary["legs"]] == ["0.5", "0.25", "0.25"]
    assert [leg["bars"] for leg in summary["legs"]] == [2800, 2800, 2780]  # SOL's gap
    assert summary["legs"][0]["params"] == {"fast_window": 10, "slow_window": 40}
    _account_adds_up(summary)
    # replaying trades.csv: never two symbols held at once
    held: dict[str, Decimal] = dict.fromkeys(SYMBOLS, Decimal(0))
    fills = _rows(tmp_path / "report" / "trades.csv")
    assert len({row["symbol"] for row in fills}) >= 2
    for row in fills:
        sign = 1 if row["side"] == "buy" else -1
        held[row["symbol"]] += sign * Decimal(row["quantity"])
        assert sum(1 for quantity in held.values() if quantity) <= 1, row
    denials = _rows(tmp_path / "report" / "denials.csv")
    assert denials, "the limit must have refused some entries"
    for row in denials:
        assert row["leg"] in {
            "ma_crossover:BTC/EUR",
            "rsi_reversion:ETH/EUR",
            "breakout:SOL/EUR",
        }
        assert "max_open_positions: 2 symbols would be held, the limit is 1" in row["reason"]
    denied = sum(sum(leg["denied"].values()) for leg in summary["legs"])
    assert denied == len(denials)


def test_a_one_leg_portfolio_is_the_ordinary_backtest(tmp_path: Path) -> None:
    config = _config(tmp_path)
    common = ["--data=synthetic", "--bars=3000", f"--config={config}", "--json"]
    reports = []
    for name, flags in (
        ("leg", ["--leg=ma_crossover:BTC/EUR"]),
        ("plain", ["--strategy=ma_crossover"]),
    ):
        report = tmp_path / name
        done = run_peak(
            "backtest", *flags, *common, f"--report-dir={report}", f"--run-id={name}", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        reports.append(report)

    assert (reports[0] / "trades.csv").read_bytes() == (reports[1] / "trades.csv").read_bytes()
    assert (reports[0] / "equity.csv").read_bytes() == (reports[1] / "equity.csv").read_bytes()
    assert _summary(reports[0])["ledger"] == _summary(reports[1])["ledger"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--leg=ma_crossover:BTC/EUR", "--leg=rsi_reversion:BTC/EUR"], "both trade BTC/EUR"),
        (["--leg=ma_crossover:BTC/EUR", "--symbol=ETH/EUR"], "leave out --symbol"),
        (["--leg=ma_crossover"], "expected STRATEGY:SYMBOL"),
        (["--leg=ma_crossover:BTC/EUR:7m"], "invalid timeframe '7m'"),
        (["--leg=ma_crossovr:BTC/EUR", "--leg=rsi_reversion:ETH/EUR"], "did you mean"),
        (["--leg=ma_crossover:BTC/EUR", "--leg=ma_crossover:BTC/USD"], "same quote"),
        (["--portfolio=missing.toml"], "does not exist"),
    ],
)
def test_wrong_legs_are_usage_errors(tmp_path: Path, flags: list[str], message: str) -> None:
    done = run_peak(
        "backtest", *flags, "--data=synthetic", f"--config={_config(tmp_path)}", cwd=tmp_path
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


def test_a_portfolio_file_with_a_misspelt_key_or_too_much_weight_is_refused(tmp_path: Path) -> None:
    misspelt = tmp_path / "a.toml"
    misspelt.write_text('[[leg]]\nstrategy = "ma_crossover"\nsymbl = "BTC/EUR"\n')
    heavy = tmp_path / "b.toml"
    heavy.write_text(
        '[[leg]]\nstrategy = "ma_crossover"\nsymbol = "BTC/EUR"\nweight = 0.7\n'
        '[[leg]]\nstrategy = "rsi_reversion"\nsymbol = "ETH/EUR"\nweight = 0.6\n'
    )
    for path, message in ((misspelt, "symbl"), (heavy, "add up to 1.3")):
        done = run_peak(
            "backtest",
            f"--portfolio={path}",
            "--data=synthetic",
            f"--config={_config(tmp_path)}",
            cwd=tmp_path,
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr


def test_a_leg_whose_file_holds_another_symbol_is_refused(tmp_path: Path) -> None:
    _write_candles(tmp_path, 1200)
    meta = CandleMeta(exchange="kraken", symbol="BTC/EUR", timeframe="15m")
    sidecar_of(tmp_path / "eth.csv").write_text(meta.model_dump_json())
    portfolio = tmp_path / "portfolio.toml"
    portfolio.write_text(
        '[[leg]]\nstrategy = "ma_crossover"\nsymbol = "BTC/EUR"\ndata_path = "btc.csv"\n'
        '[[leg]]\nstrategy = "rsi_reversion"\nsymbol = "ETH/EUR"\ndata_path = "eth.csv"\n'
    )

    done = run_peak(
        "backtest",
        f"--portfolio={portfolio}",
        "--timeframe=15m",
        f"--config={_config(tmp_path)}",
        cwd=tmp_path,
    )

    assert done.returncode == 2, done.stderr
    assert "eth.csv holds BTC/EUR 15m candles, but its leg trades ETH/EUR 15m" in done.stderr


def test_a_portfolio_dry_run_builds_every_leg_and_trades_nothing(tmp_path: Path) -> None:
    done = run_peak(
        "session", "--leg=ma_crossover:BTC/EUR", "--leg=rsi_reversion:ETH/EUR",
        "--data=synthetic", "--dry-run", f"--config={_config(tmp_path)}", cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dry run: shadow portfolio")
    assert "_portfolio_" in lines[0]
    assert [line.split()[1] for line in lines if line.startswith("leg:")] == [
        "ma_crossover:BTC/EUR",
        "rsi_reversion:ETH/EUR",
    ]
    assert "weight 0.5, 0.05 of equity per entry" in done.stdout
    assert lines[-1] == "nothing was traded."
    assert not (tmp_path / "journal").exists()
