"""A session that talks: a line for each target change, order, fill and denial (with its
rule), short enough for a terminal; or one JSON object a line for a log collector."""

from __future__ import annotations

import json
import re
from pathlib import Path

from peak_trade.session.narration import Throttle
from peak_trade.testing.cli import run_peak

SESSION = ("session", "--data", "synthetic", "--steps", "600", "--no-sleep", "--no-registry")
TIME = r"\d\d:\d\d:\d\d INFO "


def test_a_session_tells_each_target_change_order_and_fill(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    done = run_peak(*SESSION, "--run-id", "talk", "--json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    orders = [line for line in lines if re.fullmatch(TIME + r"order #\d{6} (buy|sell) .*", line)]
    fills = [line for line in lines if " fill #" in line]
    changes = [line for line in lines if re.search(r"close [\d.]+: target \w+ -> \w+$", line)]
    summary = json.loads(done.stdout)
    assert len(orders) == len(fills) == summary["metrics"]["orders_executed"] > 3
    assert len(changes) >= summary["metrics"]["target_changes"] - 1  # one may be the warmup's
    assert re.fullmatch(
        TIME + r"fill #000001 at [\d.]+, fee [\d.]+; holds [\d.]+ BTC, equity [\d,.]+ EUR",
        fills[0],
    )
    assert all(len(line) <= 100 for line in orders + fills + changes)


def test_a_denial_names_its_rule_and_a_repeated_one_is_counted(tmp_path: Path) -> None:
    # every entry is above the limit: refused on every bar the strategy wants in
    (tmp_path / "config.toml").write_text("[live_risk]\nmax_order_notional = 10.0\n")
    done = run_peak(*SESSION, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    denials = [line for line in done.stderr.splitlines() if " INFO denied #" in line]
    assert "risk: max_order_notional" in denials[0]
    assert 3 < len(denials) < 10  # the first three, then the 10th, 100th, ...
    assert denials[3].endswith("(10 times so far)")


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    done = run_peak(*SESSION, "--log-format", "json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert {record["level"] for record in records} == {"INFO"}
    assert any(
        r["logger"] == "peak_trade.run" and r["message"].startswith("fill #") for r in records
    )
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", r["time"]) for r in records)


def test_the_throttle_tells_the_first_three_then_powers_of_ten() -> None:
    throttle = Throttle()
    told = [throttle.count(f"refused: notional {n}.5 over 10") for n in range(1, 1_001)]
    assert [seen for seen in told if seen is not None] == [1, 2, 3, 10, 100, 1_000]
    assert throttle.count("another kind") == 1
