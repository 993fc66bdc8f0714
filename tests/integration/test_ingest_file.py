"""Integration tests for ``sintegre.ingest.manual``: a hand-downloaded file lands like a delivery.

Real fixture files, a real temporary lake read back with DuckDB; no mocks.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers.lake import catalog_rows, curated_file, listing
from helpers.pipeline import MACRO, MACRO_SLUG
from sintegre.cli.ingest_file import main
from sintegre_dev.fixtures import ExpectedTable, make_csv, make_pdf

NOME = "Carga DESSEM"
DATASET = "carga_dessem"
DAY = date(2025, 4, 29)


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lake the command line finds through the environment, as ``make ingest-file`` does."""
    root = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(root))
    monkeypatch.setenv("SINTEGRE_STATE_DIR", str(tmp_path / "state"))
    return root


def args(path: Path, day: date = DAY) -> list[str]:
    return [str(path), "--nome", NOME, "--macro-processo", MACRO, "--periodicidade", str(day)]


def assert_curated(lake: Path, expected: ExpectedTable, dataset: str = DATASET) -> None:
    table = pq.read_table(curated_file(lake, dataset, DAY))
    assert table.select(expected.columns).to_pylist() == expected.rows
    assert {c: str(table.schema.field(c).type) for c in expected.columns} == expected.types


def test_csv_lands_curated_raw_and_catalog(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "downloads" / "Carga_DESSEM_29-04-2025.csv"
    expected = make_csv(source)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()

    code = main(
        [
            *args(source),
            "--processo",
            "Previsão de Carga para o DESSEM",
            "--data-produto",
            "29/04/2025",
            "--product-id",
            "9230",
        ]
    )

    assert code == 0
    # An id the catalog does not know: the dataset the generic DAG would use for it.
    dataset = "produto_9230"
    assert capsys.readouterr().out.splitlines() == [f"{dataset} {DAY}: 24 rows, new"]
    assert_curated(lake, expected, dataset)
    raw = lake / "raw" / dataset / "2025" / "04" / sha / source.name
    assert raw.read_bytes() == source.read_bytes()
    [row] = catalog_rows(lake)
    assert row["outcome"] == "new"
    assert row["source_file"] == source.name
    assert row["sha256"] == sha
    assert row["raw_path"] == str(raw.relative_to(lake))
    assert row["dataset"] == dataset
    assert row["notification_id"] == f"manual-{sha[:20]}-{DAY}"
    assert row["dag_run_id"] == f"manual__manual-{sha[:20]}-{DAY}"
    assert row["product"] == NOME
    assert row["product_id"] == 9230
    assert row["macroprocesso_label"] == MACRO
    assert row["data_produto"] == "29/04/2025"
    assert row["granularity"] == "daily"
    assert row["periodicidade_final"] == DAY
    assert row["periodicidade"] == DAY  # the hive partition, from the path
    assert row["macroprocesso"] == MACRO_SLUG
    # No token: the delivery is dated at ingestion.
    assert row["delivered_at"] == row["ingested_at"]
    # Staging is cleaned up; no temporary file is left beside the raw copy.
    assert not any((lake / "_staging").rglob("*.parquet"))
    assert [p.name for p in raw.parent.iterdir()] == [source.name]


def test_second_ingest_of_the_same_file_is_unchanged(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "Carga_DESSEM_29-04-2025.csv"
    expected = make_csv(source)
    assert main(args(source)) == 0
    curated_before = curated_file(lake, DATASET, DAY).read_bytes()
    capsys.readouterr()

    assert main(args(source)) == 0

    assert capsys.readouterr().out.splitlines() == [f"{DATASET} {DAY}: 24 rows, unchanged"]
    assert [r["outcome"] for r in catalog_rows(lake)] == ["new", "unchanged"]
    assert curated_file(lake, DATASET, DAY).read_bytes() == curated_before
    assert_curated(lake, expected)


def test_weekly_period_and_its_granularity(lake: Path, tmp_path: Path) -> None:
    source = tmp_path / "Carga_semana.csv"
    make_csv(source, rows=8)
    saturday = date(2025, 4, 26)

    code = main([*args(source, day=saturday), "--periodicidade-final", "2025-05-02"])

    assert code == 0
    [row] = catalog_rows(lake)
    assert row["granularity"] == "weekly"
    assert row["periodicidade"] == saturday
    assert row["periodicidade_final"] == date(2025, 5, 2)


def test_pdf_is_kept_raw_only(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_pdf(tmp_path / "IPDO-29-04-2025.pdf")

    assert main(args(source)) == 0

    assert capsys.readouterr().out.splitlines() == [f"{DATASET} {DAY}: 0 rows, raw_only"]
    [row] = catalog_rows(lake)
    assert row["outcome"] == "raw_only"
    assert not (lake / "curated").exists()


def test_corrupt_file_exits_1_and_leaves_the_lake_as_it_was(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "Carga_DESSEM_29-04-2025.csv"
    make_csv(good)
    assert main(args(good)) == 0
    before = listing(lake, folders=True)
    capsys.readouterr()
    corrupt = tmp_path / "x.zip"
    corrupt.write_bytes(b"PK\x03\x04garbage")

    code = main(args(corrupt, day=date(2025, 4, 30)))

    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "x.zip" in captured.err
    assert "nothing was landed" in captured.err
    # Not even the raw copy or its folders stay: the operator still holds the file.
    assert listing(lake, folders=True) == before


def test_corrupt_file_on_a_fresh_lake_creates_nothing(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "x.zip"
    corrupt.write_bytes(b"PK\x03\x04garbage")

    assert main(args(corrupt)) == 1

    assert "x.zip" in capsys.readouterr().err
    assert not lake.exists()


def test_bad_arguments_exit_2(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    source = tmp_path / "Carga.csv"
    make_csv(source)

    assert main([*args(source), "--periodicidade-final", "2025-04-28"]) == 2
    assert "before --periodicidade" in capsys.readouterr().err
    assert main(args(tmp_path / "missing.csv")) == 2
    assert "is not a file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(source), "--nome", NOME, "--macro-processo", MACRO, "--periodicidade", "29/04"])
    assert exc.value.code == 2
    assert not lake.exists()


# ---- catalogued products: the same routing as a webhook delivery --------------------------


def test_a_catalogued_product_lands_in_its_catalog_datasets_by_name_and_by_id(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: ingest-file parsed without the product, so psat landed generic, untyped."""
    from sintegre_dev.ons_files.precipitation import make_psat

    day = date(2025, 9, 7)
    source = make_psat(tmp_path / "psat_07092025.txt", day)
    by_name = [str(source), "--nome", "Precipitação por Satélite", "--macro-processo", MACRO]
    assert main([*by_name, "--periodicidade", str(day)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"psat {day}: 6 rows, new"]
    table = pq.read_table(curated_file(lake, "psat", day))
    # rain = (100 * 7 + 37 i) / 100; i = 2 is PSATIPSI, latitude -(1000 + 300) / 100
    row = next(r for r in table.to_pylist() if r["codigo_psat"] == "PSATIPSI")
    assert (row["latitude"], row["precipitacao_mm"], row["data"]) == (-13.0, 7.74, day)
    assert str(table.schema.field("precipitacao_mm").type) == "double"
    assert table.schema.field("precipitacao_mm").metadata[b"unit"] == b"mm"
    [catalog] = catalog_rows(lake)
    assert (catalog["dataset"], catalog["product_id"]) == ("psat", 487)

    # By id, under a name the catalog does not know: still the product's own datasets.
    other = tmp_path / "psat_08092025.txt"
    make_psat(other, date(2025, 9, 8))
    by_id = [str(other), "--nome", "Chuva", "--macro-processo", MACRO, "--product-id", "487"]
    assert main([*by_id, "--periodicidade", "2025-09-08"]) == 0
    assert capsys.readouterr().out.splitlines() == ["psat 2025-09-08: 6 rows, new"]


def test_reprocess_reads_through_the_catalog_like_a_delivery(lake: Path, tmp_path: Path) -> None:
    """Before: reprocess parsed without the product id and landed generic datasets."""
    from sintegre.core.settings import load_settings
    from sintegre.ingest.reprocess import plan, reprocess_item
    from sintegre_dev.ons_files.precipitation import make_psat

    day = date(2025, 9, 7)
    source = make_psat(tmp_path / "psat_07092025.txt", day)
    args = [str(source), "--nome", "Precipitação por Satélite", "--macro-processo", MACRO]
    assert main([*args, "--periodicidade", str(day)]) == 0
    # The analyst names the dataset they know; the whole product is planned.
    [item] = plan(lake, "psat", day, day)
    assert item["dataset"] == "precipitacao_por_satelite"
    result = reprocess_item(item, "manual__reprocess-psat", load_settings())
    assert [(d["dataset"], d["outcome"]) for d in result["datasets"]] == [("psat", "reprocessed")]
    table = pq.read_table(curated_file(lake, "psat", day))
    assert table.num_rows == 6
    assert str(table.schema.field("latitude").type) == "double"
