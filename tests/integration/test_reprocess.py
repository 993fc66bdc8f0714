"""Integration tests for ``sintegre.ingest.reprocess`` and the ``sintegre_reprocess`` DAG.

The lake is filled with ``sintegre.ingest.manual`` from real fixture files; no mocks. A forced
reprocess lands as ``reprocessed`` (a new version of the same raw sha256).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from helpers.lake import catalog_rows, curated_file
from helpers.pipeline import MACRO, MACRO_SLUG
from sintegre.core.settings import Settings, load_settings
from sintegre.ingest.manual import ProductLabels, ingest_file
from sintegre.ingest.reprocess import (
    ReprocessError,
    conf_from_item,
    plan,
    reprocess_item,
)
from sintegre_dev.fixtures import make_csv, make_xlsx, make_zip

DAGS = Path(__file__).resolve().parents[2] / "dags"
NOME = "Carga DESSEM"
DATASET = "produto_9230"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {"LAKE_URI": str(tmp_path / "lake"), "SINTEGRE_STATE_DIR": str(tmp_path / "state")}
    )


@pytest.fixture
def lake(settings: Settings) -> Path:
    return Path(settings.lake_uri)


def ingest(
    settings: Settings,
    path: Path,
    day: date,
    *,
    nome: str = NOME,
    final: date | None = None,
    product_id: int | None = 9230,
) -> dict[str, Any]:
    labels = ProductLabels(
        nome=nome,
        macro_processo=MACRO,
        periodicidade=day,
        periodicidade_final=final,
        processo="Previsão de Carga para o DESSEM",
        data_produto=day.strftime("%d/%m/%Y"),
        # An id the catalog does not know: generic reading, dataset produto_9230.
        product_id=product_id,
    )
    return ingest_file(path, labels, settings=settings)


@pytest.fixture
def three_periods(settings: Settings, tmp_path: Path) -> dict[date, dict[str, Any]]:
    """29 April landed first, then 28 April, then 10 May (outside the range used below)."""
    landed = {}
    for day, rows in ((date(2025, 4, 29), 16), (date(2025, 4, 28), 24), (date(2025, 5, 10), 8)):
        source = tmp_path / "downloads" / f"Carga_DESSEM_{day:%d-%m-%Y}.csv"
        make_csv(source, rows=rows)
        landed[day] = ingest(settings, source, day)
    return landed


def test_plan_returns_the_range_oldest_delivery_first(
    lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    items = plan(lake, DATASET, date(2025, 4, 1), date(2025, 4, 30))

    # Delivery order (29 landed before 28), not period order.
    assert [i["periodicidade"] for i in items] == ["2025-04-29", "2025-04-28"]
    for item in items:
        download = three_periods[date.fromisoformat(item["periodicidade"])]["download"]
        conf = three_periods[date.fromisoformat(item["periodicidade"])]["conf"]
        assert item["raw_path"] == download["raw_path"]
        assert item["sha256"] == download["sha256"]
        assert item["source_file"] == download["file_name"]
        assert item["dataset"] == DATASET
        assert item["datasets"] == [DATASET]
        assert item["product"] == NOME
        assert item["product_id"] == 9230
        assert item["processo"] == "Previsão de Carga para o DESSEM"
        assert item["macroprocesso_slug"] == MACRO_SLUG
        assert item["macroprocesso_label"] == MACRO
        assert item["data_produto"] == conf["dataProduto"]
        assert item["granularity"] == "daily"
        assert item["periodicidade_final"] == item["periodicidade"]
        assert item["notification_id"] == conf["notification_id"]
    first, second = (datetime.fromisoformat(i["delivered_at"]) for i in items)
    assert first < second


def test_plan_bounds_are_inclusive_and_validated(
    lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    assert [i["periodicidade"] for i in plan(lake, DATASET, date(2025, 5, 10), date(2025, 5, 10))]
    assert plan(lake, DATASET, date(2025, 4, 30), date(2025, 5, 9)) == []
    assert plan(lake, "outro_produto", date(2025, 1, 1), date(2025, 12, 31)) == []
    with pytest.raises(ValueError, match="before start"):
        plan(lake, DATASET, date(2025, 4, 30), date(2025, 4, 1))
    with pytest.raises(ValueError, match="dataset must match"):
        plan(lake, "../raw", date(2025, 4, 1), date(2025, 4, 30))


def test_plan_on_an_empty_lake_is_empty(lake: Path) -> None:
    assert plan(lake, DATASET, date(2025, 1, 1), date(2025, 12, 31)) == []


def test_plan_takes_table_datasets_of_the_product_and_nothing_else(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    day = date(2025, 4, 29)
    make_xlsx(tmp_path / "vazoes.xlsx")
    make_csv(tmp_path / "carga.csv", rows=3)
    # Two layouts in one delivery of an uncatalogued product: boletim__carga, boletim__vazoes.
    make_zip(
        tmp_path / "Boletim.zip",
        {"carga.csv": tmp_path / "carga.csv", "vazoes.xlsx": tmp_path / "vazoes.xlsx"},
    )
    ingest(settings, tmp_path / "Boletim.zip", day, nome="Boletim", product_id=None)
    make_csv(tmp_path / "other.csv", rows=4)
    ingest(settings, tmp_path / "other.csv", day, nome="Boletim Semanal", product_id=None)

    [item] = plan(lake, "boletim", day, day)

    assert item["dataset"] == "boletim"
    assert item["datasets"] == ["boletim__carga", "boletim__vazoes"]
    assert item["source_file"] == "Boletim.zip"


def test_same_bytes_in_two_partitions_are_two_items(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    source = tmp_path / "Carga.csv"
    make_csv(source)
    first = ingest(settings, source, date(2025, 4, 28))
    second = ingest(settings, source, date(2025, 4, 29))
    # Same month, same bytes: one raw file serves both partitions.
    assert first["download"]["raw_path"] == second["download"]["raw_path"]

    items = plan(lake, DATASET, date(2025, 4, 1), date(2025, 4, 30))

    assert [(i["raw_path"], i["periodicidade"]) for i in items] == [
        (first["download"]["raw_path"], "2025-04-28"),
        (first["download"]["raw_path"], "2025-04-29"),
    ]


def test_reprocess_item_relands_with_the_original_delivery(
    settings: Settings, lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    items = plan(lake, DATASET, date(2025, 4, 1), date(2025, 4, 30))
    before = {day: curated_file(lake, DATASET, day).read_bytes() for day in three_periods}

    results = [
        reprocess_item(item, f"reprocess__test__{n}", settings) for n, item in enumerate(items)
    ]

    assert [r["forced"] for r in results] == [True, True]
    # Without lake.land(force=...), the same raw sha256 can only land as "unchanged".
    expected_outcome = "reprocessed"
    assert [[d["outcome"] for d in r["datasets"]] for r in results] == [[expected_outcome]] * 2
    assert [r["rows"] for r in results] == [16, 24]
    rows = catalog_rows(lake)
    relanded = [r for r in rows if r["dag_run_id"].startswith("reprocess__test__")]
    assert len(relanded) == 2
    for item, row in zip(items, relanded, strict=True):
        original = datetime.fromisoformat(item["delivered_at"])
        # The original delivery instant: a reprocess keeps the delivery of the bytes it re-reads.
        assert row["delivered_at"] == original
        assert row["notification_id"] == item["notification_id"]
        assert row["sha256"] == item["sha256"]
        assert row["raw_path"] == item["raw_path"]
        assert row["outcome"] == expected_outcome
    # 10 May was not in the plan; the current data of every partition is the same table.
    outside = curated_file(lake, DATASET, date(2025, 5, 10))
    assert outside.read_bytes() == before[date(2025, 5, 10)]
    for day in three_periods:
        assert (
            pq.read_table(curated_file(lake, DATASET, day)).num_rows
            == {
                date(2025, 4, 29): 16,
                date(2025, 4, 28): 24,
                date(2025, 5, 10): 8,
            }[day]
        )
    assert not any((lake / "_staging").rglob("*.parquet"))


def history_file(lake: Path, dataset: str, day: date, sha: str) -> Path:
    """The newest version file of ``sha``: a reprocess writes ``<sha>-r<time>.parquet`` beside
    the original ``<sha>.parquet``, which stays as it was."""
    folder = lake / "history" / dataset / f"macroprocesso={MACRO_SLUG}" / f"periodicidade={day}"
    reprocessed = sorted(folder.glob(f"{sha}-r*.parquet"))
    return reprocessed[-1] if reprocessed else folder / f"{sha}.parquet"


def lineage(path: Path) -> tuple[str, str]:
    """``(src_sha256, dag_run_id)`` of a landed file."""
    table = pq.read_table(path, columns=["src_sha256", "dag_run_id"])
    return table["src_sha256"][0].as_py(), table["dag_run_id"][0].as_py()


def two_versions(settings: Settings, tmp_path: Path, day: date, *, pause: float) -> list[str]:
    """Land version A, then (after ``pause`` seconds) B of one partition; their sha256s."""
    shas = []
    for name, rows in (("A.csv", 24), ("B.csv", 16)):
        source = tmp_path / name
        make_csv(source, rows=rows)
        shas.append(ingest(settings, source, day)["download"]["sha256"])
        time.sleep(pause)
    return shas


def test_reprocess_rewrites_history_and_keeps_the_newest_delivery_current(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    day = date(2025, 4, 28)
    # Deliveries a second apart: nbf (whole seconds) orders them exactly.
    sha_a, sha_b = two_versions(settings, tmp_path, day, pause=1.1)
    items = plan(lake, DATASET, day, day)
    assert [i["sha256"] for i in items] == [sha_a, sha_b]

    results = [
        reprocess_item(item, f"reprocess__order__{n}", settings) for n, item in enumerate(items)
    ]

    assert [[d["outcome"] for d in r["datasets"]] for r in results] == [["reprocessed"]] * 2
    # Both history versions hold the new parse ...
    assert lineage(history_file(lake, DATASET, day, sha_a)) == (sha_a, "reprocess__order__0")
    assert lineage(history_file(lake, DATASET, day, sha_b)) == (sha_b, "reprocess__order__1")
    # ... and curated still holds B, the newest delivery, re-parsed.
    assert lineage(curated_file(lake, DATASET, day)) == (sha_b, "reprocess__order__1")
    assert pq.read_table(curated_file(lake, DATASET, day)).num_rows == 16


def test_reprocessing_the_older_version_alone_does_not_make_it_current(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    day = date(2025, 4, 28)
    sha_a, sha_b = two_versions(settings, tmp_path, day, pause=1.1)
    item_a, _ = plan(lake, DATASET, day, day)

    reprocess_item(item_a, "reprocess__older", settings)

    assert lineage(history_file(lake, DATASET, day, sha_a)) == (sha_a, "reprocess__older")
    assert lineage(curated_file(lake, DATASET, day))[0] == sha_b


def test_same_second_deliveries_keep_their_order(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    day = date(2025, 4, 28)
    for _ in range(20):  # land both inside one second (almost always the first try)
        shutil.rmtree(lake, ignore_errors=True)
        _, sha_b = two_versions(settings, tmp_path, day, pause=0)
        item_a, item_b = plan(lake, DATASET, day, day)
        if item_a["delivered_at"][:19] == item_b["delivered_at"][:19]:
            break
    else:
        pytest.skip("could not land two versions within one second")

    # nbf drops the microseconds, so each reprocessed row sorts at or before its original;
    # the original rows still decide which sha256 is current.
    reprocess_item(item_b, "reprocess__same_second_b", settings)
    reprocess_item(item_a, "reprocess__same_second_a", settings)

    assert lineage(curated_file(lake, DATASET, day)) == (sha_b, "reprocess__same_second_b")


def test_known_bytes_delivered_again_later_are_current_and_replayed_in_order(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    """A, then B, then A's bytes again (newest, under another name): A is current again.

    The reprocess plan replays the three deliveries in the order they happened, so after it the
    newest delivery's content (A) is still the current one.
    """
    day = date(2025, 4, 28)
    sha_a, sha_b = two_versions(settings, tmp_path, day, pause=0)
    copy = tmp_path / "A-copia.csv"
    copy.write_bytes((tmp_path / "A.csv").read_bytes())
    assert ingest(settings, copy, day)["landed"]["datasets"][0]["outcome"] == "reverted"
    assert lineage(curated_file(lake, DATASET, day))[0] == sha_a

    items = plan(lake, DATASET, day, day)

    assert [(i["source_file"], i["sha256"]) for i in items] == [
        ("A.csv", sha_a),
        ("B.csv", sha_b),
        ("A-copia.csv", sha_a),
    ]
    outcomes = [
        reprocess_item(item, f"reprocess__copy__{n}", settings)["datasets"][0]["outcome"]
        for n, item in enumerate(items)
    ]
    assert outcomes == ["reprocessed", "reprocessed", "reprocessed"]
    assert lineage(curated_file(lake, DATASET, day))[0] == sha_a


def test_reprocess_without_force_is_unchanged(
    settings: Settings, lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    [item] = plan(lake, DATASET, date(2025, 4, 28), date(2025, 4, 28))

    result = reprocess_item(item, "reprocess__noforce", settings, force=False)

    assert result["forced"] is False
    assert [d["outcome"] for d in result["datasets"]] == ["unchanged"]


def test_conf_from_item_keeps_the_notification_shape(
    lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    [item] = plan(lake, DATASET, date(2025, 4, 28), date(2025, 4, 28))
    original = three_periods[date(2025, 4, 28)]["conf"]

    conf = conf_from_item(item)

    same = ("nome", "processo", "dataProduto", "macroProcesso", "product_id", "dataset")
    assert {k: conf[k] for k in same} == {k: original[k] for k in same}
    more = ("macroprocesso_slug", "periodicidade_date", "periodicidade_final_date", "granularity")
    assert {k: conf[k] for k in more} == {k: original[k] for k in more}
    assert conf["periodicidade"] == original["periodicidade"]
    assert conf["periodicidadeFinal"] == original["periodicidadeFinal"]
    assert conf["notification_id"] == conf["reprocess_of"] == original["notification_id"]
    assert conf["token_nbf"] == int(datetime.fromisoformat(item["delivered_at"]).timestamp())
    assert set(original) <= set(conf)


def test_raw_file_missing_or_changed_is_refused(
    settings: Settings, lake: Path, three_periods: dict[date, dict[str, Any]]
) -> None:
    [item] = plan(lake, DATASET, date(2025, 4, 28), date(2025, 4, 28))
    catalog_before = len(catalog_rows(lake))
    raw = lake / item["raw_path"]
    kept = raw.read_bytes()

    raw.write_bytes(kept + b"tampered")
    with pytest.raises(ReprocessError, match="no longer matches"):
        reprocess_item(item, "reprocess__tampered", settings)
    raw.unlink()
    with pytest.raises(ReprocessError, match="missing"):
        reprocess_item(item, "reprocess__missing", settings)
    with pytest.raises(ReprocessError, match="not inside the raw zone"):
        reprocess_item({**item, "raw_path": "../outside.csv"}, "reprocess__escape", settings)
    assert len(catalog_rows(lake)) == catalog_before
    assert hashlib.sha256(kept).hexdigest() == item["sha256"]


def test_delivered_at_of_a_token_delivery_is_kept_exactly(
    settings: Settings, lake: Path, tmp_path: Path
) -> None:
    """A webhook delivery's instant is a whole-second nbf: it survives the round trip."""
    source = tmp_path / "Carga.csv"
    make_csv(source)
    ingest(settings, source, date(2025, 4, 28))
    [item] = plan(lake, DATASET, date(2025, 4, 28), date(2025, 4, 28))
    nbf = 1_745_800_000
    item = {**item, "delivered_at": datetime.fromtimestamp(nbf, tz=UTC).isoformat()}

    assert conf_from_item(item)["token_nbf"] == nbf


# --- the DAG -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    # Only this file: the test judges this DAG, not its neighbours.
    dagbag = DagBag(dag_folder=str(DAGS / "sintegre_reprocess.py"))
    assert dagbag.import_errors == {}
    return dagbag.dags["sintegre_reprocess"]


def test_dag_is_triggered_only_and_maps_one_landing_at_a_time(dag) -> None:
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None
    assert not dag.catchup
    assert [t.task_id for t in dag.tasks] == ["plan", "reprocess"]
    task = dag.get_task("reprocess")
    assert task.is_mapped  # .expand(): dynamic task mapping over the plan
    assert task.upstream_task_ids == {"plan"}
    assert task.max_active_tis_per_dag == 1
    assert task.retries == 0
    assert dag.get_task("plan").retries == 0


def test_dag_params(dag) -> None:
    schemas = {key: dag.params.get_param(key).schema for key in dag.params}
    assert schemas["dataset"]["pattern"] == "^[a-z0-9_]+$"
    assert schemas["start"]["format"] == "date"
    assert schemas["end"]["format"] == "date"
