"""The receiver benchmark's rounds: the median ratio, its spread and the load, as reported."""

from __future__ import annotations

from bench import receiver_bench, report


def _round(receiver_rate: float, trivial_rate: float) -> dict:
    return {
        "baseline": {"per_second": trivial_rate, "accepted": 1, "p50_ms": 5.0, "p99_ms": 20.0},
        "receiver": {
            "per_second": receiver_rate,
            "accepted": int(receiver_rate * 10),
            "p50_ms": 10.0,
            "p99_ms": 40.0,
        },
    }


def test_a_level_reports_its_median_rounds_ratio_spread_and_load() -> None:
    rounds = [_round(400.0, 1000.0), _round(550.0, 1000.0), _round(300.0, 1000.0)]
    level = receiver_bench._level(rounds, [2.0, 1.5, 1.0])
    # The median ratio's round gives the rates shown; every round's 2xx count toward the
    # durability check.
    assert level["throughput_ratio"] == 0.4
    assert level["receiver"]["per_second"] == 400.0
    assert level["round_ratios"] == [0.4, 0.55, 0.3]
    assert level["ratio_spread"] == [0.3, 0.55]
    assert level["receiver_per_second_spread"] == [300.0, 550.0]
    assert level["accepted_total"] == 12500
    assert level["rounds"] == 3 and level["loadavg_start"] == [2.0, 1.5, 1.0]

    rows = report.benchmark_rows({"receiver": {"clients_1": level, "clients_16": level}})
    [row] = [r for r in rows if r["figure"].startswith("receiver accepted/s, 16 client(s)")]
    assert "median of 3 interleaved rounds" in row["figure"]
    assert row["ratio"] == 0.4 and row["met"] is False
    assert row["spread"].startswith("ratios 0.3–0.55, receiver 300–550/s; trivial 1000–1000/s")
    assert "load 2 → " in row["spread"]
