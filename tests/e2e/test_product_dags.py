"""Every catalogued product's file goes through its own DAG in a real Airflow into the lake.

One fixture per product (``tests/fixtures/catalog_fixtures.py``) is published on the SINtegre
simulator and notified to the receiver with the product's exact ``nome`` and its id in the
token, so the receiver routes it to ``sintegre__<slug>``. Deliveries are sent a few at a
time (runs of different DAGs proceed side by side; see ``deliveries`` for why not all at
once). For each product the test checks the DAG that ran, the lake datasets the delivery
produced, their columns, the Arrow types of key columns and a few values computed by hand
from the generators' formulas. A last delivery with a renamed column lands anyway and is
reported as schema drift by the receiver.

The e2e lake is shared by the whole session: rows are looked up by this test's
``src_notification_id`` and the periods (August to October 2025) are used by no other e2e test.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests
from stack import MEASUREMENTS

from fixtures.catalog.model import CatalogFixture, DatasetExpectation
from fixtures.catalog_fixtures import DRIFT, FIXTURES, GENERIC, IMPLAUSIBLE, MISMATCH
from helpers.lake import catalog_rows
from helpers.webhook import SUBSCRIBER_EMAIL
from sintegre.catalog.products import Product, load_catalog
from sintegre.lake.layout import LINEAGE_COLUMNS
from sintegre_dev.simulator import build_notification

#: Columns every landed row gets (lineage), left out of the per-product column lists.
LINEAGE = set(LINEAGE_COLUMNS)
PARTITIONS = {"macroprocesso", "periodicidade"}
FINAL = {"succeeded", "unchanged", "failed", "layout_mismatch", "expired"}
DRIFT_KEY = "drift"
MISMATCH_KEY = "mismatch"
IMPLAUSIBLE_KEY = "implausible"
GENERIC_KEY = "generic"
#: Deliveries sent and not yet finished, at most (see ``deliveries``).
IN_FLIGHT = 4


@dataclass(frozen=True)
class UncataloguedProduct:
    """What the test reads of a product the catalog does not know (routed to the generic DAG)."""

    id: int
    name: str
    processo: str
    macro_processo: str
    dag_id: str
    dataset: str


@dataclass
class Delivery:
    """One fixture sent through the receiver."""

    fixture: CatalogFixture
    product: Product | UncataloguedProduct
    served_name: str
    sha256: str
    notification_id: str
    view: dict[str, Any] | None = None


def _notify(stack, simulator, webhook, fixture: CatalogFixture, folder: Path) -> Delivery:
    product = load_catalog().by_id(fixture.product_id)
    if product is None:  # the uncatalogued case: the generic DAG
        # Not a catalog entry (the catalog model refuses a product routed to the generic DAG):
        # only what the test reads of one.
        product = UncataloguedProduct(
            id=fixture.product_id,
            name=GENERIC.nome,
            processo=GENERIC.processo,
            macro_processo=GENERIC.macro_processo,
            dag_id="sintegre_generic",
            dataset=f"produto_{fixture.product_id}",
        )
    path = fixture.build(folder / str(fixture.product_id) / fixture.file_name)
    publication = simulator.publish(
        path,
        file_name=fixture.file_name,
        product_id=product.id,
        nome=product.name,
        is_file=fixture.is_file,
        username=SUBSCRIBER_EMAIL,
    )
    payload = build_notification(
        publication,
        processo=product.processo,
        macro_processo=product.macro_processo,
        data_produto=fixture.data_produto,
        periodicidade=datetime(fixture.start.year, fixture.start.month, fixture.start.day),
        periodicidade_final=datetime(
            fixture.end.year, fixture.end.month, fixture.end.day, 23, 59, 59
        ),
        nome=product.name,
    )
    response = webhook.send(payload)
    assert response.status_code == 200, (fixture.product_id, response.text)
    return Delivery(
        fixture=fixture,
        product=product,
        served_name=publication.file_name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        notification_id=response.json()["id"],
    )


@pytest.fixture(scope="module")
def deliveries(stack, simulator, webhook, tmp_path_factory) -> dict[int | str, Delivery]:
    """Every catalogued product's fixture (and the drift one, last) sent and awaited.

    At most :data:`IN_FLIGHT` deliveries are unfinished at a time: a burst of all 23 made
    the session's SQLite Airflow scheduler die on ``database is locked`` (its task
    heartbeats and the scheduler's dag_run updates fight for the one writer lock).
    """
    folder = tmp_path_factory.mktemp("catalog-fixtures")
    for fixture in FIXTURES.values():  # the DAG processor may still be parsing them
        stack.wait_for_dag(load_catalog().by_id(fixture.product_id).dag_id)
    queue: list[tuple[int | str, CatalogFixture, Path]] = [
        (product_id, fixture, folder) for product_id, fixture in FIXTURES.items()
    ]
    # Sent after the regular 229: it is that dataset's newest notification on the status page.
    queue.append((DRIFT_KEY, DRIFT.fixture, folder / "drift"))
    queue.append((MISMATCH_KEY, MISMATCH.fixture, folder / "mismatch"))
    queue.append((IMPLAUSIBLE_KEY, IMPLAUSIBLE.fixture, folder / "implausible"))
    queue.append((GENERIC_KEY, GENERIC.fixture, folder / "generic"))
    started = time.monotonic()
    deadline = started + 1500
    sent: dict[int | str, Delivery] = {}
    pending: list[Delivery] = []
    while queue or pending:
        while queue and len(pending) < IN_FLIGHT:
            key, fixture, where = queue.pop(0)
            sent[key] = _notify(stack, simulator, webhook, fixture, where)
            pending.append(sent[key])
        time.sleep(1)
        for delivery in list(pending):
            view = webhook.notification(delivery.notification_id)
            if view["status"] in FINAL:
                delivery.view = view
                pending.remove(delivery)
        assert time.monotonic() < deadline, [
            (d.fixture.product_id, webhook.notification(d.notification_id)["status"])
            for d in pending
        ]
    MEASUREMENTS["catalog_products_post_to_lake_seconds"] = round(time.monotonic() - started, 1)
    return sent


def _catalog_rows(lake: Path, notification_id: str) -> list[dict[str, Any]]:
    columns = (
        "dataset",
        "outcome",
        "rows",
        "raw_path",
        "curated_path",
        "schema_drift",
        "implausible",
    )
    rows = [r for r in catalog_rows(lake) if r["notification_id"] == notification_id]
    return [{c: r[c] for c in columns} for r in sorted(rows, key=lambda r: r["dataset"])]


def _check_run(stack, delivery: Delivery) -> dict[str, Any]:
    view = delivery.view
    assert view is not None
    assert view["dag_id"] == delivery.product.dag_id, view
    assert view["status"] == "succeeded", (view["status"], view["last_error"])
    run = stack.airflow_get(f"/api/v2/dags/{view['dag_id']}/dagRuns/{view['dag_run_id']}")
    assert run.status_code == 200, run.text
    assert run.json()["state"] == "success"
    return view


def _check_dataset(
    lake: Path, delivery: Delivery, view: dict[str, Any], dataset: str, exp: DatasetExpectation
) -> None:
    partition = (
        lake
        / "curated"
        / dataset
        / f"macroprocesso={view['macroprocesso_slug']}"
        / f"periodicidade={delivery.fixture.start.isoformat()}"
        / "data.parquet"
    )
    assert partition.exists(), f"{dataset}: no curated partition {partition}"
    table = pq.read_table(partition)
    rows = [r for r in table.to_pylist() if r["src_notification_id"] == delivery.notification_id]
    columns = [c for c in table.column_names if c not in LINEAGE | PARTITIONS]
    assert columns == exp.columns, dataset
    types = {name: str(table.schema.field(name).type) for name in exp.types}
    assert types == exp.types, dataset
    assert len(rows) == exp.rows, dataset
    assert {r["src_product_id"] for r in rows} == {delivery.product.id}
    assert {r["src_file"] for r in rows} == {delivery.served_name}
    assert {r["src_sha256"] for r in rows} == {delivery.sha256}
    for sample in exp.samples:
        found = [r for r in rows if all(r[k] == v for k, v in sample.where.items())]
        if sample.expected is None:
            assert found == [], (dataset, sample.where)
            continue
        assert len(found) == 1, (dataset, sample.where, len(found))
        got = {key: found[0][key] for key in sample.expected}
        assert got == sample.expected, (dataset, sample.where)


@pytest.mark.parametrize("product_id", sorted(FIXTURES))
def test_catalogued_product_lands_through_its_own_dag(stack, deliveries, product_id: int):
    delivery = deliveries[product_id]
    view = _check_run(stack, delivery)
    lake = stack.lake
    catalog = _catalog_rows(lake, delivery.notification_id)
    fixture = delivery.fixture
    if fixture.raw_only:
        # One catalog row says the file was kept; no table, no curated dataset.
        assert [(r["dataset"], r["outcome"], r["rows"]) for r in catalog] == [
            (delivery.product.dataset, "raw_only", 0)
        ]
        raw = lake / catalog[0]["raw_path"]
        assert raw.is_file()
        assert hashlib.sha256(raw.read_bytes()).hexdigest() == delivery.sha256
        assert catalog[0]["curated_path"] is None
        curated = lake / "curated"
        prefix = delivery.product.dataset
        if curated.exists():
            assert not [p.name for p in curated.iterdir() if p.name.split("__")[0] == prefix], (
                prefix
            )
        return
    assert {r["dataset"]: r["outcome"] for r in catalog} == dict.fromkeys(fixture.datasets, "new")
    assert all(r["schema_drift"] is None for r in catalog), catalog
    assert view["schema_drift"] is None
    for dataset, expectation in fixture.datasets.items():
        _check_dataset(lake, delivery, view, dataset, expectation)


def test_a_new_column_lands_and_is_reported_as_schema_drift(stack, webhook, deliveries):
    delivery = deliveries[DRIFT_KEY]
    _check_run(stack, delivery)
    # The forwarder reads the drift from the land task's XCom after the run succeeded.
    view = webhook.wait_for_field(delivery.notification_id, "schema_drift", timeout=60)
    assert view["schema_drift"] == DRIFT.drift
    for dataset, expectation in delivery.fixture.datasets.items():
        _check_dataset(stack.lake, delivery, view, dataset, expectation)
    rows = _catalog_rows(stack.lake, delivery.notification_id)
    assert {r["dataset"]: r["outcome"] for r in rows} == dict.fromkeys(
        delivery.fixture.datasets, "new"
    )
    assert any(r["schema_drift"] is not None for r in rows)

    page = requests.get(
        f"{stack.receiver_url}/", headers={"Authorization": webhook.admin}, timeout=10
    )
    assert page.status_code == 200
    assert "schema drift" in page.text
    for dataset, drift in DRIFT.drift.items():
        assert dataset in page.text
        for column in drift["unexpected"]:
            assert column in page.text


def test_a_file_that_does_not_fit_fails_loudly_and_lands_nothing(stack, webhook, deliveries):
    delivery = deliveries[MISMATCH_KEY]
    view = delivery.view
    assert view is not None
    assert view["dag_id"] == delivery.product.dag_id
    assert view["status"] == "layout_mismatch", (view["status"], view["last_error"])
    mismatch = view["layout_mismatch"]
    assert mismatch["product"] == delivery.product.id
    assert mismatch["table"] == MISMATCH.table
    assert MISMATCH.expected_fragment in mismatch["expected"], mismatch
    assert "layout mismatch" in view["last_error"]
    # Nothing of it in the lake catalog; the raw file is kept for a replay after a fix.
    assert _catalog_rows(stack.lake, delivery.notification_id) == []
    raws = list((stack.lake / "raw").rglob(delivery.served_name))
    assert any(hashlib.sha256(p.read_bytes()).hexdigest() == delivery.sha256 for p in raws)
    run = stack.airflow_get(f"/api/v2/dags/{view['dag_id']}/dagRuns/{view['dag_run_id']}")
    assert run.json()["state"] == "failed"
    page = requests.get(
        f"{stack.receiver_url}/", headers={"Authorization": webhook.admin}, timeout=10
    )
    assert "layout mismatch" in page.text
    assert MISMATCH.expected_fragment in page.text


def test_implausible_values_land_and_are_flagged(stack, webhook, deliveries):
    delivery = deliveries[IMPLAUSIBLE_KEY]
    _check_run(stack, delivery)
    view = webhook.wait_for_field(delivery.notification_id, "implausible", timeout=60)
    assert view["implausible"] == IMPLAUSIBLE.implausible
    rows = _catalog_rows(stack.lake, delivery.notification_id)
    flagged = {r["dataset"]: r["implausible"] for r in rows if r["implausible"]}
    assert set(flagged) == set(IMPLAUSIBLE.implausible)
    page = requests.get(
        f"{stack.receiver_url}/", headers={"Authorization": webhook.admin}, timeout=10
    )
    assert "implausible values" in page.text


def test_an_uncatalogued_real_csv_lands_typed_through_the_generic_dag(stack, deliveries):
    delivery = deliveries[GENERIC_KEY]
    _check_run(stack, delivery)
    for dataset, expectation in delivery.fixture.datasets.items():
        _check_dataset(stack.lake, delivery, delivery.view, dataset, expectation)
