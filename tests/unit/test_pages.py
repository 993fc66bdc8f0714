"""The operators' pictures: arrival calendar, lake explorer, dataset page and run timeline."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import date, datetime, timedelta
from http.server import HTTPServer
from typing import ClassVar

import pytest

from helpers.fake_airflow import FakeAirflowBase
from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, basic
from sintegre.catalog.products import load_catalog
from sintegre.core.settings import load_settings
from sintegre.intake.inbox.schema import notifications
from sintegre.intake.notification import BRASILIA
from sintegre.intake.receiver import create_app
from sintegre.intake.receiver.views_data import arrivals

ADMIN = {"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)}
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=BRASILIA)  # a Wednesday, before Acomph's deadline


def _insert(
    inbox,
    notification_id: str,
    *,
    product_id: int | None,
    product: str,
    period: date,
    received: datetime,
    status: str,
    granularity: str = "daily",
    dataset: str = "acomph",
    dag_id: str = "sintegre_acomph",
    **extra,
) -> None:
    """One inbox row as the receiver writes it (only what the pages read matters)."""
    row = {
        "id": notification_id,
        "integration": "default",
        "received_at": received.timestamp(),
        "updated_at": received.timestamp(),
        "status": status,
        "product": product,
        "product_id": product_id,
        "dataset": dataset,
        "dag_id": dag_id,
        "dag_run_id": f"sintegre__{notification_id}",
        "macroprocesso_slug": "programacao_da_operacao",
        "periodicidade": period.isoformat(),
        "periodicidade_final": period.isoformat(),
        "granularity": granularity,
        "data_produto": period.strftime("%d/%m/%Y"),
        "flags": "[]",
        "conf": "{}",
        "body": b"{}",
        "attempts": 0,
        "next_attempt_at": received.timestamp(),
        "duplicates": 0,
        "expected": True,
        "replays": 0,
        **extra,
    }
    with inbox.engine.begin() as conn:
        conn.execute(notifications.insert().values(**row))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRASILIA)


@pytest.fixture
def inbox(app):
    return app.extensions["sintegre"]["inbox"]


@pytest.fixture
def seeded(inbox):
    """Acomph (230, daily, due 12:50) on time, late, failed, layout mismatch, in flight, missing;
    a weekly (228) and a monthly (229) delivery; an uncatalogued product."""
    acomph = {"product_id": 230, "product": "Acomph"}
    _insert(
        inbox,
        "ontime",
        **acomph,
        period=date(2026, 11, 20),
        received=_at(date(2026, 11, 20), 11, 30),
        status="succeeded",
    )
    _insert(
        inbox,
        "late",
        **acomph,
        period=date(2026, 11, 21),
        received=_at(date(2026, 11, 21), 14),
        status="succeeded",
    )
    _insert(
        inbox,
        "failed",
        **acomph,
        period=date(2026, 11, 22),
        received=_at(date(2026, 11, 22), 11, 20),
        status="failed",
        last_error="SINtegre answered 403",
    )
    _insert(
        inbox,
        "mismatch",
        **acomph,
        period=date(2026, 11, 23),
        received=_at(date(2026, 11, 23), 11, 20),
        status="layout_mismatch",
    )
    _insert(
        inbox,
        "inflight",
        **acomph,
        period=date(2026, 11, 25),
        received=_at(date(2026, 11, 25), 11, 20),
        status="triggered",
    )
    _insert(
        inbox,
        "weekly",
        product_id=228,
        product="Carga por patamar - DECOMP",
        period=date(2026, 11, 14),
        received=_at(date(2026, 11, 11), 10),
        status="succeeded",
        granularity="weekly",
        dataset="carga_por_patamar_decomp",
    )
    _insert(
        inbox,
        "monthly",
        product_id=229,
        product="Previsões de carga mensal e por patamar - NEWAVE",
        period=date(2026, 11, 1),
        received=_at(date(2026, 10, 28), 10),
        status="unchanged",
        granularity="monthly",
        dataset="previsoes_de_carga_mensal_e_por_patamar_newave",
    )
    _insert(
        inbox,
        "other",
        product_id=999,
        product="Produto novo",
        period=date(2026, 11, 29),
        received=_at(date(2026, 11, 29), 9),
        status="succeeded",
        dataset="produto_999",
    )
    # Outside the window: never part of the answer.
    _insert(
        inbox,
        "old",
        **acomph,
        period=date(2026, 9, 1),
        received=_at(date(2026, 9, 1), 11),
        status="succeeded",
    )
    return inbox


def _row(data, product_id):
    return next(r for r in data["rows"] if r["product_id"] == product_id)


def _cell(row, period: str):
    return next(c for c in row["cells"] if c["period"] == period)


def test_arrivals_classify_each_cell_by_hand(seeded):
    """expected: Acomph days on time, late, failed, layout_mismatch, pending, missing, not due."""
    data = arrivals(seeded.engine, load_catalog(), now=NOW, airflow_url="http://af:8080")
    assert data["from"] == "2026-11-03" and data["to"] == "2026-12-02" and len(data["days"]) == 30
    acomph = _row(data, 230)
    assert len(acomph["cells"]) == 30 and all(c["span"] == 1 for c in acomph["cells"])
    states = {c["period"]: c["state"] for c in acomph["cells"]}
    assert states["2026-11-20"] == "on_time"
    assert states["2026-11-21"] == "late"
    assert states["2026-11-22"] == "failed"
    assert states["2026-11-23"] == "layout_mismatch"
    assert states["2026-11-24"] == "missing"  # nothing came, 12:50 passed long ago
    assert states["2026-11-25"] == "pending"
    assert states["2026-12-02"] == "not_due"  # due 12:50, now 12:00
    ontime = _cell(acomph, "2026-11-20")
    assert ontime["notification_id"] == "ontime"
    assert ontime["received_at"] == "2026-11-20T11:30:00-03:00"
    assert ontime["expected_by"] == "2026-11-20T12:50:00-03:00"
    assert ontime["dag_run_url"] == "http://af:8080/dags/sintegre_acomph/runs/sintegre__ontime"
    assert _cell(acomph, "2026-11-24")["notification_id"] is None
    assert "old" not in {c["notification_id"] for r in data["rows"] for c in r["cells"]}


def test_arrivals_weekly_and_monthly_rows_at_their_grain(seeded):
    data = arrivals(seeded.engine, load_catalog(), now=NOW)
    weekly = _row(data, 228)
    # Operative weeks (Saturday → Friday) covering 2026-11-03 .. 2026-12-02.
    assert [c["period"] for c in weekly["cells"]] == [
        "2026-10-31",
        "2026-11-07",
        "2026-11-14",
        "2026-11-21",
        "2026-11-28",
    ]
    assert [c["span"] for c in weekly["cells"]] == [4, 7, 7, 7, 5]  # 30 days in all
    assert _cell(weekly, "2026-11-14")["state"] == "on_time"  # due Thu 2026-11-12 (+2 h)
    assert _cell(weekly, "2026-11-21")["state"] == "missing"
    assert _cell(weekly, "2026-11-28")["state"] == "missing"  # due Thu 2026-11-26
    monthly = _row(data, 229)
    assert [(c["period"], c["span"], c["state"]) for c in monthly["cells"]] == [
        ("2026-11-01", 28, "on_time"),  # landed 2026-10-28, due 2026-11-06
        ("2026-12-01", 2, "not_due"),  # due 2026-12-06
    ]
    assert _cell(monthly, "2026-11-01")["notification_id"] == "monthly"
    grains = [r["granularity"] for r in data["rows"]]
    assert grains == sorted(grains, key=("daily", "weekly", "monthly").index)
    other = _row(data, 999)  # seen, not catalogued: landed, never judged late or missing
    assert not other["catalogued"]
    assert _cell(other, "2026-11-29")["state"] == "landed"
    assert _cell(other, "2026-11-28")["state"] == "not_due"
    assert len(data["rows"]) == len(load_catalog().products) + 1


def test_arrivals_api_and_calendar_on_the_status_page(client, inbox):
    today = datetime.now(tz=BRASILIA).date()
    _insert(
        inbox,
        "recent",
        product_id=230,
        product="Acomph",
        period=today - timedelta(days=2),
        received=_at(today - timedelta(days=2), 11, 0),
        status="succeeded",
    )
    assert client.get("/api/arrivals").status_code == 401
    data = client.get("/api/arrivals", headers=ADMIN).get_json()
    assert data["to"] == today.isoformat()
    cell = _cell(_row(data, 230), (today - timedelta(days=2)).isoformat())
    assert cell["state"] == "on_time" and cell["notification_id"] == "recent"
    assert len(client.get("/api/arrivals?days=7", headers=ADMIN).get_json()["days"]) == 7
    page = client.get("/", headers=ADMIN).get_data(as_text=True)
    assert 'id="arrivals"' in page
    assert 'class="cell a-on_time"' in page
    assert "notification recent" in page  # the hover names the notification
    assert 'href="/notifications/recent"' in page  # the click opens the run timeline
    assert 'data-granularity="weekly"' in page and 'data-granularity="monthly"' in page
    assert "/lake/acomph" in page  # the status page's dataset links stay


def test_pages_need_admin_credentials_and_posts_are_refused(client):
    for path in ("/", "/api/arrivals", "/lake", "/lake/acomph", "/notifications/x"):
        assert client.get(path).status_code == 401, path
        wrong = {"Authorization": basic(ADMIN_USER, "errada")}
        assert client.get(path, headers=wrong).status_code == 401, path
        assert client.post(path, headers=ADMIN).status_code == 405, path


# -- the lake -------------------------------------------------------------------------------------


@pytest.fixture
def lake_settings(settings, tmp_path):
    """Two Acomph deliveries (real layout) and one revision, landed in the test's lake."""
    from sintegre.ingest.manual import ProductLabels, ingest_file
    from sintegre_dev.ons_files.hydro import make_acomph

    files = tmp_path / "files"
    files.mkdir()
    for day in (28, 29):
        source = make_acomph(files / f"ACOMPH_{day}.04.2025.xls", date(2025, 4, day))
        ingest_file(
            source,
            ProductLabels(
                nome="Acomph",
                macro_processo="Programação da Operação",
                periodicidade=date(2025, 4, day),
                product_id=230,
            ),
            settings=settings,
        )
    return settings


def test_lake_explorer_lists_datasets(client, lake_settings):
    page = client.get("/lake", headers=ADMIN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-dataset="acomph"' in html
    row = html[html.index('data-dataset="acomph"') :].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]
    # partitions, rows (2 × 149), last delivery, last landing, version, versions
    assert cells[1] == "2" and cells[2] == "298" and cells[6] == "2"
    assert 'href="/lake/acomph"' in html


def test_lake_explorer_on_an_empty_lake(client):
    html = client.get("/lake", headers=ADMIN).get_data(as_text=True)
    assert "The lake is empty." in html


def test_dataset_page_html_schema_sample_and_chart(client, lake_settings):
    html = client.get("/lake/acomph", headers=ADMIN).get_data(as_text=True)
    assert "<h1>Dataset <code>acomph</code></h1>" in html
    assert "<code>nivel_consolidado_m</code></td><td><code>double</code></td><td>m</td>" in html
    assert "Reservoir level consolidated" in html
    assert 'id="evidence"' in html  # the layout's evidence, from the file's metadata
    assert "periodicidade=2025-04-29" not in html and "programacao_da_operacao/2025-04-29" in html
    sample = html[html.index('id="sample"') :]
    assert sample.count("<tr>") == 21  # header + the first 20 rows
    assert '<svg class="chart"' in html and "<path d=" in html
    assert "avg(nivel_lido_m) per data" in html  # the default: the first float column
    chosen = client.get("/lake/acomph?column=natural_m3s&where=posto:6", headers=ADMIN)
    text = chosen.get_data(as_text=True)
    assert "avg(natural_m3s) per data where posto = 6" in text
    assert "31 point(s)" in text  # 30 days per file, overlapping by 29: 31 dates
    bad = client.get("/lake/acomph?column=bacia&where=nope", headers=ADMIN).get_data(as_text=True)
    assert "is not a numeric column" in bad and "filter &#39;nope&#39; ignored" in bad
    assert client.get("/lake/nada", headers=ADMIN).status_code == 404


def test_dataset_page_answers_json_when_asked(client, lake_settings):
    for headers, path in (
        ({**ADMIN, "Accept": "application/json"}, "/lake/acomph"),
        (ADMIN, "/lake/acomph?format=json"),
    ):
        answer = client.get(path, headers=headers)
        assert answer.is_json, path
        data = answer.get_json()
        assert data["dataset"] == "acomph" and len(data["files"]) == 2
        assert "read_parquet(" in data["duckdb"]
    assert not client.get("/lake/acomph", headers={**ADMIN, "Accept": "*/*"}).is_json


# -- the run timeline -----------------------------------------------------------------------------


class _FakeAirflow(FakeAirflowBase):
    instances: ClassVar[list[dict]] = []

    def do_GET(self):
        if self.path.endswith("/taskInstances") and self.headers["Authorization"] == "Bearer jwt":
            self._json(200, {"task_instances": self.instances, "total_entries": 3})
        else:
            self._json(404, {"detail": "not found"})


@pytest.fixture
def fake_airflow():
    server = HTTPServer(("127.0.0.1", 0), _FakeAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _timeline_app(env, airflow_url):
    app = create_app(load_settings({**env, "AIRFLOW_URL": airflow_url}))
    inbox = app.extensions["sintegre"]["inbox"]
    received = datetime(2026, 11, 20, 11, 30, tzinfo=BRASILIA)
    _insert(
        inbox,
        "n1",
        product_id=230,
        product="Acomph",
        period=date(2026, 11, 20),
        received=received,
        status="succeeded",
        triggered_at=received.timestamp() + 2,
        finished_at=received.timestamp() + 40,
        dag_run_state="success",
    )
    return app.test_client()


TASKS = [  # out of order on purpose: the page sorts by start
    {
        "task_id": "land",
        "state": "success",
        "try_number": 1,
        "duration": 8.0,
        "start_date": "2026-11-20T14:30:30Z",
        "end_date": "2026-11-20T14:30:38Z",
    },
    {
        "task_id": "download",
        "state": "success",
        "try_number": 1,
        "duration": 10.0,
        "start_date": "2026-11-20T14:30:05Z",
        "end_date": "2026-11-20T14:30:15Z",
    },
    {
        "task_id": "parse",
        "state": "success",
        "try_number": 2,
        "duration": 12.5,
        "start_date": "2026-11-20T14:30:16Z",
        "end_date": "2026-11-20T14:30:28.500Z",
    },
]


def test_run_timeline_with_airflow(env, fake_airflow):
    _FakeAirflow.instances = TASKS
    client = _timeline_app(env, fake_airflow)
    html = client.get("/notifications/n1", headers=ADMIN).get_data(as_text=True)
    steps = [p.split('"')[0] for p in html.split('data-step="')[1:]]
    assert steps == ["received", "triggered", "download", "parse", "land", "landed"]
    assert "2.00 s" in html  # received → triggered
    assert "10.00 s" in html and "12.50 s" in html and "8.00 s" in html
    assert "40.0 s" in html  # received → finished
    run = f"{fake_airflow}/dags/sintegre_acomph/runs/sintegre__n1"
    assert f'href="{run}"' in html
    for task in ("download", "parse", "land"):
        assert f'href="{run}/tasks/{task}"' in html
    assert 'id="airflow-error"' not in html
    assert '<svg class="chart timeline"' in html
    assert client.get("/notifications/nada", headers=ADMIN).status_code == 404


def test_run_timeline_when_airflow_is_unreachable(env):
    client = _timeline_app(env, f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    html = client.get("/notifications/n1", headers=ADMIN).get_data(as_text=True)
    assert time.monotonic() - started < 10
    assert 'id="airflow-error"' in html and "cannot reach Airflow" in html
    steps = [p.split('"')[0] for p in html.split('data-step="')[1:]]
    assert steps == ["received", "triggered", "landed"]  # the inbox's part
    assert "40.0 s" in html


def test_under_gevent_the_lake_is_read_off_the_loop(env, lake_settings):
    """Under gunicorn's gevent worker a lake query must not hold up this process's webhooks:
    DuckDB runs on another OS thread, and the pages answer the same."""
    from helpers.patched import run_patched

    result = run_patched(
        """
        import json, os, threading
        from sintegre.core.settings import load_settings
        from sintegre.intake.receiver import create_app, views_data
        from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, basic

        threads = []
        for name in ("lake_summary", "dataset_detail"):
            real = getattr(views_data, name)
            def spy(*args, _real=real, **kwargs):
                threads.append(threading.get_native_id())
                return _real(*args, **kwargs)
            setattr(views_data, name, spy)
        app = create_app(load_settings(json.loads(os.environ["APP_ENV"])))
        client = app.test_client()
        admin = {"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)}
        lake = client.get("/lake", headers=admin)
        dataset = client.get("/lake/acomph", headers=admin)
        print(json.dumps({
            "statuses": [lake.status_code, dataset.status_code],
            "lists_acomph": 'data-dataset="acomph"' in lake.get_data(as_text=True),
            "off_loop": [t != threading.get_native_id() for t in threads],
        }))
        """,
        APP_ENV=json.dumps(env),
    )
    assert result["statuses"] == [200, 200]
    assert result["lists_acomph"]
    assert result["off_loop"] == [True, True]
