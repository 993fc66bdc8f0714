"""A zip of CSVs and an XLSX go from SINtegre (simulated) through a real Airflow into the lake."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import duckdb
from stack import MEASUREMENTS, daily_notification

from helpers.lake import catalog_rows
from sintegre_dev.fixtures import make_csv, make_xlsx
from sintegre_dev.ons_files.dessem import make_prevcarga_dessem
from sintegre_dev.simulator import SimulatorServer, build_notification

CARGA = "Arquivos de Previsão de Carga para o DESSEM - PrevCargaDESSEM"
# Not in the catalog: the XLSX goes through the generic DAG and readers (product 479's zip goes
# through its own DAG and layout). tests/e2e/test_product_dags.py has every real layout.
HIDRO = "Vazões Observadas (produto novo)"
HIDRO_ID = 9234
CARGA_DATASET = "dessem_carga"
CARGA_DAY = date(2025, 4, 29)


def test_csv_and_xlsx_land_as_partitioned_parquet(
    stack, simulator: SimulatorServer, webhook, tmp_path: Path
):
    zip_name = f"PrevCargaDESSEM_{CARGA_DAY.isoformat()}.zip"
    make_prevcarga_dessem(tmp_path / zip_name, CARGA_DAY)
    xlsx_expected = make_xlsx(tmp_path / "Vazoes.xlsx", sheets={"Sudeste": 10, "Sul": 7})
    csv_pub = simulator.publish(tmp_path / zip_name, file_name=zip_name, product_id=479, nome=CARGA)
    xlsx_pub = simulator.publish(
        tmp_path / "Vazoes.xlsx",
        file_name="Vazões Observadas - 26-04-2025 a 02-05-2025.xlsx",
        product_id=HIDRO_ID,
        nome=HIDRO,
        disposition="rfc2047",
    )
    csv_payload = build_notification(
        csv_pub,
        processo="Previsão de carga para o DESSEM",
        macro_processo="Programação da Operação",
        data_produto="29/04/2025",
        periodicidade=datetime(2025, 4, 29, 0, 0, 0),
        periodicidade_final=datetime(2025, 4, 29, 23, 59, 59),
    )
    xlsx_payload = build_notification(
        xlsx_pub,
        processo="Acompanhamento das Condições Hidroenergéticas",
        macro_processo="Programação da Operação",
        data_produto="26/04/2025 - 02/05/2025",
        periodicidade=datetime(2025, 4, 26, 0, 0, 0),
        periodicidade_final=datetime(2025, 5, 2, 23, 59, 59),
    )

    sent_at = time.monotonic()
    ids = []
    for payload in (csv_payload, xlsx_payload):
        response = webhook.send(payload)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "received"
        ids.append(response.json()["id"])
    views = [webhook.wait_for(i, {"succeeded", "failed", "expired"}) for i in ids]
    MEASUREMENTS["post_to_parquet_seconds"] = round(time.monotonic() - sent_at, 1)
    assert [v["status"] for v in views] == ["succeeded", "succeeded"], views
    assert [v["dag_id"] for v in views] == [
        "sintegre__arquivos_de_previsao_de_carga_para_o_dessem_prevcargadessem",
        "sintegre_generic",
    ]
    assert views[0]["schema_drift"] is None
    assert simulator.request_count(csv_pub.url) == 1

    lake = stack.lake
    con = duckdb.connect()
    carga = con.execute(
        # The session's lake is shared by every e2e test: look at this delivery's rows only.
        "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true) "
        "WHERE src_notification_id = ? ORDER BY submercado, data_hora",
        [str(lake / f"curated/{CARGA_DATASET}/**/*.parquet"), ids[0]],
    )
    columns = [d[0] for d in carga.description]
    rows = [dict(zip(columns, r, strict=True)) for r in carga.fetchall()]
    assert len(rows) == 4 * 48  # 4 subsystems x 48 half hours
    assert {r["macroprocesso"] for r in rows} == {"programacao_da_operacao"}
    assert {r["periodicidade"] for r in rows} == {CARGA_DAY}
    assert {r["granularity"] for r in rows} == {"daily"}
    assert {r["src_product_id"] for r in rows} == {479}
    types = dict(
        con.execute(
            "SELECT column_name, column_type FROM "
            "(DESCRIBE SELECT * FROM "
            "read_parquet(?, hive_partitioning = true, union_by_name = true))",
            [str(lake / f"curated/{CARGA_DATASET}/**/*.parquet")],
        ).fetchall()
    )
    assert types["data_hora"] == "TIMESTAMP"
    assert types["carga_mw"] == "DOUBLE"
    assert types["submercado"] == "VARCHAR"
    assert types["periodicidade"] == "DATE"
    # SECO, half hour k: (3600000 + 725 k) / 100 MW; k = 0 and k = 47.
    seco = [r for r in rows if r["submercado"] == "SECO"]
    assert (seco[0]["data_hora"], seco[0]["carga_mw"]) == (datetime(2025, 4, 29, 0, 0), 36000.0)
    assert (seco[-1]["data_hora"], seco[-1]["carga_mw"]) == (
        datetime(2025, 4, 29, 23, 30),
        36340.75,
    )

    for table in ("Sudeste", "Sul"):
        # One sheet per subsystem, same layout: one dataset, the sheet a column.
        got = con.execute(
            "SELECT data, vazao_natural_m3_s, macroprocesso, periodicidade, granularity, src_file "
            "FROM read_parquet(?, hive_partitioning = true, union_by_name = true) "
            "WHERE src_notification_id = ? AND sheet = ? ORDER BY data",
            [str(lake / f"curated/produto_{HIDRO_ID}/**/*.parquet"), ids[1], table],
        ).fetchall()
        exp = xlsx_expected[table]
        assert [g[0] for g in got] == exp.column("data")
        assert [g[1] for g in got] == exp.column("vazao_natural_m3_s")
        assert {(g[2], g[3], g[4]) for g in got} == {
            ("programacao_da_operacao", date(2025, 4, 26), "weekly")
        }
        assert {g[5] for g in got} == {"Vazões Observadas - 26-04-2025 a 02-05-2025.xlsx"}

    # The landing emitted the dataset's Asset event: the example downstream DAG ran on it.
    derived = lake / "derived" / "carga_dessem_media_diaria" / "data.parquet"
    deadline = time.monotonic() + 180
    while not derived.exists():
        assert time.monotonic() < deadline, "the Asset-scheduled example DAG never wrote its table"
        time.sleep(1)
    # SECO's mean over k = 0..47: (3600000 + 725 x 23.5) / 100 = 36170.38 (rounded)
    expected = (CARGA_DAY, "SECO", 36170.38, 48)
    # Other e2e landings of the dataset also run the example DAG: wait for the one with ours.
    while True:
        summary = con.execute(
            "SELECT data, submercado, carga_media_mwmed, meias_horas FROM read_parquet(?)",
            [str(derived)],
        ).fetchall()
        if expected in summary or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert expected in summary
    uris = {
        e.get("uri")
        for dag_id in ("sintegre_generic", views[0]["dag_id"])
        for e in stack.airflow_get("/api/v2/assets/events", source_dag_id=dag_id, limit=100).json()[
            "asset_events"
        ]
    }
    assert f"sintegre-lake://curated/{CARGA_DATASET}" in uris
    assert f"sintegre-lake://curated/produto_{HIDRO_ID}" in uris

    catalog = sorted((r["dataset"], r["rows"], r["changed"]) for r in catalog_rows(lake))
    assert (CARGA_DATASET, 192, True) in catalog
    assert (f"produto_{HIDRO_ID}", 17, True) in catalog


def _daily_payload(publication, day: int = 30) -> dict:
    return daily_notification(
        publication, date(2025, 4, day), processo="Previsão de carga para o DESSEM"
    )


def test_same_file_delivered_again_is_unchanged(stack, simulator, webhook, tmp_path: Path):
    make_csv(tmp_path / "again.csv", rows=4)
    first_pub = simulator.publish(
        tmp_path / "again.csv", file_name="Again_2025-04-30.csv", product_id=9100, nome="Again"
    )
    first = webhook.send(_daily_payload(first_pub)).json()["id"]
    assert webhook.wait_for(first, {"succeeded", "failed"})["status"] == "succeeded"
    curated = next((stack.lake / "curated" / "produto_9100").rglob("data.parquet"))
    before = curated.stat().st_mtime_ns
    # ONS re-notifies the same file days later with a fresh token: a new delivery, same bytes.
    second_pub = simulator.publish(
        tmp_path / "again.csv", file_name="Again_2025-04-30.csv", product_id=9100, nome="Again"
    )
    second = webhook.send(_daily_payload(second_pub)).json()["id"]
    assert second != first
    assert webhook.wait_for(second, {"succeeded", "unchanged", "failed"})["status"] == "unchanged"
    assert curated.stat().st_mtime_ns == before


def test_html_instead_of_the_file_fails_the_run_and_leaves_the_lake(
    stack, simulator, webhook, tmp_path: Path
):
    make_csv(tmp_path / "broken.csv", rows=4)
    publication = simulator.publish(
        tmp_path / "broken.csv", file_name="Broken_2025-04-30.csv", product_id=9101, nome="Broken"
    )
    simulator.set_html_error(publication)
    lake_before = sorted(p for p in stack.lake.rglob("*") if "_incoming" not in p.parts)
    notification_id = webhook.send(_daily_payload(publication)).json()["id"]
    view = webhook.wait_for(notification_id, {"succeeded", "failed"})
    assert view["status"] == "failed"
    assert view["dag_run_state"] == "failed"
    lake_after = sorted(p for p in stack.lake.rglob("*") if "_incoming" not in p.parts)
    assert lake_after == lake_before
    logs = "\n".join(
        p.read_text(errors="replace")
        for p in (Path(stack.airflow_env["AIRFLOW_HOME"]) / "logs").rglob("*.log")
        if view["dag_run_id"] in str(p)
    )
    assert "HTML page instead of the product file" in logs
    # Not retried: a retry cannot turn an error page into the file.
    assert simulator.request_count(publication) == 1
