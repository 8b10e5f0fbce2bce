"""Sweeps over a portfolio: a grid names a leg's parameter; each point is the whole account."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from peak_trade.backtest.portfolio_sweep import leg_parameters
from peak_trade.core.errors import ConfigError
from peak_trade.core.legs import Leg
from peak_trade.testing.cli import run_peak

LEGS = ["--leg=ma_crossover:BTC/EUR", "--leg=rsi_reversion:ETH/EUR", "--leg=ma_crossover:SOL/EUR"]


def test_each_point_is_the_portfolio_backtest_with_that_leg_parameter(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[live_risk]\n")
    common = [*LEGS, "--data=synthetic", "--bars=4000", "--config=config.toml"]
    common.append("--warmup-candles=120")  # the backtest below is given the same

    swept = run_peak(
        "sweep", *common, "--grid=rsi_reversion.lower=20,30",
        "--grid=ma_crossover:SOL/EUR.fast_window=5,10", "--workers=2",
        "--report-dir=sweep", "--json", cwd=tmp_path,
    )  # fmt: skip

    assert swept.returncode == 0, swept.stderr
    rows = json.loads(swept.stdout)["results"]
    assert len(rows) == 4
    assert len({row["final_equity"] for row in rows}) == 4  # each parameter changes the run
    with (tmp_path / "sweep" / "results.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[1:3] == ["rsi_reversion.lower", "ma_crossover:SOL/EUR.fast_window"]
    assert (tmp_path / "sweep" / "heatmap.png").is_file()
    best = rows[0]
    portfolio = tmp_path / "best.toml"
    portfolio.write_text(
        '[[leg]]\nstrategy = "ma_crossover"\nsymbol = "BTC/EUR"\n'
        f'[[leg]]\nstrategy = "rsi_reversion"\nsymbol = "ETH/EUR"\n'
        f"params = {{ lower = {best['rsi_reversion.lower']} }}\n"
        '[[leg]]\nstrategy = "ma_crossover"\nsymbol = "SOL/EUR"\n'
        f"params = {{ fast_window = {best['ma_crossover:SOL/EUR.fast_window']} }}\n"
    )
    alone = run_peak(
        "backtest", f"--portfolio={portfolio}", "--data=synthetic", "--bars=4000",
        "--config=config.toml", "--journal=bt.sqlite", "--report-dir=best", "--json",
        "--warmup-candles=120",
        cwd=tmp_path,
    )  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    assert float(json.loads(alone.stdout)["ledger"]["equity"]) == best["final_equity"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lower=1", "a portfolio's grid names LEG.PARAMETER"),
        ("rsi_reversal.lower", "no leg 'rsi_reversal'; did you mean 'rsi_reversion'?"),
        ("ma_crossover.fast_window", "2 legs run ma_crossover; name one as STRATEGY:SYMBOL"),
    ],
)
def test_a_grid_name_must_name_one_leg(name: str, message: str) -> None:
    legs = [Leg("ma_crossover", "BTC/EUR"), Leg("rsi_reversion", "ETH/EUR")]
    legs.append(Leg("ma_crossover", "SOL/EUR"))

    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        leg_parameters(legs, [name])
