"""The ``lake_scale`` benchmark's code path, at a tiny size, so it cannot rot between runs.

200 deliveries, the newest 20 committed one by one, on the local disk and on S3 (moto's
server, started by the bench itself): every figure must come out with its same-run baseline
and a ratio, and the two designs must agree on what they read (the decision's versions, the
catalog's rows, the 30-day query's answer where both are measured).
"""

from __future__ import annotations

import json

from bench import lake_scale_bench, report

N = 200
SINGLES = 20


def test_lake_scale_section_runs_on_local_disk_and_s3() -> None:
    result = lake_scale_bench.run(
        sizes=(N,),
        commits=SINGLES,
        stores=("local", "s3"),
        repeat=1,
        files_whole={"local": N, "s3": 0},
        files_points={"local": (100, N), "s3": (20, 40)},
        share=0.1,
    )
    json.dumps(result)  # what bench/results/latest.json stores
    assert result["stores"] == ["local", "s3"]
    for store in ("local", "s3"):
        section = result[store]
        delta, files = section[f"delta_{N}"], section[f"files_{N}"]
        assert delta["single_commits"] == SINGLES
        assert delta["commit_ms"]["median"] > 0
        assert delta["maintenance_runs"] >= 1
        # Every figure: a spread of the built design, a baseline of today's design.
        for figure in lake_scale_bench.FIGURES:
            assert delta[figure]["runs"] == 1
            assert 0 < delta[figure]["min"] <= delta[figure]["median"] <= delta[figure]["max"]
            baseline = files[figure]
            assert ("median" in baseline) or ("extrapolated" in baseline), (store, figure)
        # Both designs read the same versions for the probe partition's dataset.
        assert delta["decision_rows"] == files["decision_rows"] > 0
        assert delta["decision_outcome"] == "new"
        # connect built the catalog, datasets and two views per dataset of history/.
        assert delta["views"] == 2 + 2 * delta["history_files"]
        points = section["views_points"]
        assert [p["deliveries"] for p in points] == list({"local": [100, N], "s3": [20, 40]}[store])
        for point in points:
            assert point["files"] == point["deliveries"]
    local = result["local"]
    # Local: the file-per-delivery lake is measured whole at N; same rows, same answer.
    assert local[f"files_{N}"]["views_measured"] is True
    whole = next(p for p in local["views_points"] if p["deliveries"] == N)
    assert whole["rows"] == local[f"delta_{N}"]["rows"]
    assert whole["query_30d_rows"] == local[f"delta_{N}"]["query_30d_rows"]
    assert whole["views"] == local[f"delta_{N}"]["views"]  # the same views, both designs
    # S3: beyond the measured points, the baseline is an extrapolation and says so.
    assert result["s3"][f"files_{N}"]["views_measured"] is False

    rows = [
        r
        for r in report.benchmark_rows({"lake_scale": result})
        if r["figure"].startswith("lake_scale")
    ]
    figures = [r for r in rows if "commit of one landing" not in r["figure"]]
    assert len(figures) == 2 * len(lake_scale_bench.FIGURES)
    for row in figures:
        assert row["baseline"] != "—" and row["ratio"] is not None, row
        assert row["target"] == "—" and row["met"] is None  # targets apply at 1M only
    assert any("extrapolated" in r["figure"] and "s3" in r["figure"] for r in figures)
    assert sum("commit of one landing" in r["figure"] for r in rows) == 2


def test_commit_counts_per_store() -> None:
    assert lake_scale_bench.parse_commits("10_000") == 10_000
    assert lake_scale_bench.parse_commits("local=10000,s3=500") == {"local": 10_000, "s3": 500}
    assert lake_scale_bench.parse_sizes("10000,100_000") == (10_000, 100_000)
