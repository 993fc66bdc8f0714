"""The arrival calendar, the lake explorer and a run's timeline in a real headless Chromium, and
how long the server takes to render them with a year of notifications and 100 datasets."""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from helpers.browser import ARTIFACTS, chromium, needs_chromium, serve
from helpers.fake_airflow import FakeAirflowBase
from helpers.webhook import ADMIN_PASSWORD, ADMIN_USER, basic
from sintegre.catalog.products import expected_by, load_catalog
from sintegre.core.settings import load_settings
from sintegre.intake.inbox.schema import notifications
from sintegre.intake.notification import BRASILIA
from sintegre.intake.receiver import create_app

ADMIN = {"Authorization": basic(ADMIN_USER, ADMIN_PASSWORD)}


def _row(notification_id: str, product, period: date, received: datetime, status: str, **extra):
    """An inbox row as the receiver writes it (what the pages read)."""
    return {
        "id": notification_id,
        "integration": "default",
        "received_at": received.timestamp(),
        "updated_at": received.timestamp(),
        "status": status,
        "product": product.name,
        "product_id": product.id,
        "dataset": product.dataset,
        "dag_id": product.dag_id,
        "dag_run_id": f"sintegre__{notification_id}",
        "macroprocesso_slug": "programacao_da_operacao",
        "periodicidade": period.isoformat(),
        "periodicidade_final": period.isoformat(),
        "granularity": product.granularity,
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


def _periods(product, days: int, today: date) -> list[date]:
    first = today - timedelta(days=days)
    if product.granularity == "weekly":
        start = first - timedelta(days=(first.weekday() - 5) % 7)
        return [start + timedelta(weeks=k) for k in range(days // 7 + 2)]
    if product.granularity == "monthly":
        months, month = [], first.replace(day=1)
        while month <= today + timedelta(days=31):
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months
    return [first + timedelta(days=k) for k in range(days + 1)]


def _seed_year(inbox, *, days: int, seed: int = 18, per_period: int = 1) -> int:
    """Deliveries for every catalogued product over ``days``: mostly on time, some late, failed,
    layout mismatches and gaps. Returns the number of rows written."""
    rng = random.Random(seed)
    today = datetime.now(tz=BRASILIA).date()
    now = datetime.now(tz=BRASILIA)
    rows = []
    for product in load_catalog().products:
        for period in _periods(product, days, today):
            deadline = expected_by(product, period)
            if deadline > now:
                continue
            roll = rng.random()
            if roll < 0.05:
                continue  # missing
            for copy in range(per_period):
                late = roll < 0.15
                received = deadline + timedelta(minutes=rng.randint(5, 300) * (1 if late else -1))
                status = "succeeded"
                if 0.15 <= roll < 0.2:
                    status = "failed"
                elif 0.2 <= roll < 0.23:
                    status = "layout_mismatch"
                elif roll > 0.9:
                    status = "unchanged"
                ident = f"{product.id}-{period.isoformat()}-{copy}"
                rows.append(
                    _row(
                        ident,
                        product,
                        period,
                        received,
                        status,
                        triggered_at=received.timestamp() + 1.5,
                        finished_at=received.timestamp() + 35,
                    )
                )
    with inbox.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(notifications.insert(), rows[start : start + 2000])
    return len(rows)


class _FakeAirflow(FakeAirflowBase):
    def do_GET(self):
        if not self.path.endswith("/taskInstances"):
            self._json(404, {"detail": "not found"})
            return
        start = datetime(2026, 11, 20, 11, 30, 3, tzinfo=BRASILIA)  # just after the trigger
        tasks, offset = [], 0.0
        for task_id, seconds, state in (
            ("download", 9.5, "success"),
            ("parse", 14.2, "success"),
            ("land", 6.1, "success"),
        ):
            begin = start + timedelta(seconds=offset)
            end = begin + timedelta(seconds=seconds)
            tasks.append(
                {
                    "task_id": task_id,
                    "state": state,
                    "try_number": 1,
                    "duration": seconds,
                    "start_date": begin.isoformat(),
                    "end_date": end.isoformat(),
                }
            )
            offset += seconds + 0.8
        self._json(200, {"task_instances": tasks, "total_entries": len(tasks)})


@pytest.fixture
def served(env, tmp_path):
    """The receiver on a real port: a month of deliveries, a small real-layout lake and one
    notification whose run a fake Airflow describes."""
    from sintegre.ingest.manual import ProductLabels, ingest_file
    from sintegre_dev.ons_files.hydro import make_acomph

    airflow = serve(_FakeAirflow, wsgi=False)
    settings = load_settings({**env, "AIRFLOW_URL": f"http://127.0.0.1:{airflow.server_port}"})
    app = create_app(settings)
    inbox = app.extensions["sintegre"]["inbox"]
    _seed_year(inbox, days=40)
    acomph = load_catalog().by_id(230)
    received = datetime(2026, 11, 20, 11, 30, 0, tzinfo=BRASILIA)
    with inbox.engine.begin() as conn:
        conn.execute(
            notifications.insert(),
            [
                _row(
                    "timeline-1",
                    acomph,
                    date(2026, 11, 20),
                    received,
                    "succeeded",
                    triggered_at=received.timestamp() + 1.8,
                    finished_at=received.timestamp() + 38.0,
                    dag_run_state="success",
                )
            ],
        )
    files = tmp_path / "files"
    files.mkdir()
    for day in (27, 28, 29):
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
    for index, name in enumerate(("Carga verificada", "Geração eólica", "Intercâmbio SE-NE")):
        for revision in range(index + 1):  # revisions of the same period: more versions
            source = files / f"serie_{index}_{revision}.csv"
            source.write_text(
                "data;valor\n"
                + "".join(f"2025-04-{k:02d};{k * 10.5 + index + revision}\n" for k in range(1, 29))
            )
            ingest_file(
                source,
                ProductLabels(
                    nome=name,
                    macro_processo="Programação da Operação",
                    periodicidade=date(2025, 4, 28),
                ),
                settings=settings,
            )
    server = serve(app)
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    airflow.shutdown()


def _shoot(url: str, name: str, size: str, tmp_path: Path) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", f"--window-size={size}", url, profile=tmp_path / name)
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


@needs_chromium
def test_arrival_calendar_in_a_real_browser(served, tmp_path):
    url = f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@{served}/"
    dom = chromium("--dump-dom", url, profile=tmp_path / "dom").stdout
    assert 'id="arrivals"' in dom
    for state in ("on_time", "late", "failed", "layout_mismatch", "missing"):
        assert f'data-state="{state}"' in dom, state
    assert 'data-granularity="weekly"' in dom and 'data-granularity="monthly"' in dom
    assert 'href="/notifications/' in dom
    _shoot(url, "arrivals_calendar.png", "1500,1000", tmp_path)


@needs_chromium
def test_lake_explorer_in_a_real_browser(served, tmp_path):
    base = f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@{served}"
    dom = chromium("--dump-dom", f"{base}/lake", profile=tmp_path / "dom").stdout
    assert 'data-dataset="acomph"' in dom and 'data-dataset="geracao_eolica"' in dom
    _shoot(f"{base}/lake", "lake_explorer.png", "1300,360", tmp_path)
    page = f"{base}/lake/acomph?column=natural_m3s&where=posto:6"
    dom = chromium("--dump-dom", page, profile=tmp_path / "dom2").stdout
    assert "avg(natural_m3s) per data where posto = 6" in dom
    assert "<path d=" in dom and 'id="schema"' in dom and 'id="sample"' in dom
    _shoot(page, "lake_dataset.png", "1300,1100", tmp_path)


@needs_chromium
def test_run_timeline_in_a_real_browser(served, tmp_path):
    url = f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@{served}/notifications/timeline-1"
    dom = chromium("--dump-dom", url, profile=tmp_path / "dom").stdout
    steps = [p.split('"')[0] for p in dom.split('data-step="')[1:]]
    assert steps == ["received", "triggered", "download", "parse", "land", "landed"]
    dag_id = load_catalog().by_id(230).dag_id
    assert f"/dags/{dag_id}/runs/sintegre__timeline-1/tasks/parse" in dom
    assert "airflow-error" not in dom
    _shoot(url, "run_timeline.png", "1100,650", tmp_path)


# -- render time with a year of data ------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """10,000 notifications in the inbox and a lake of 100 small datasets."""
    from sintegre.ingest.manual import ProductLabels, ingest_file

    root = tmp_path_factory.mktemp("big")
    env = {
        "SINTEGRE_STATE_DIR": str(root / "state"),
        "LAKE_URI": str(root / "lake"),
        "SINTEGRE_ADMIN_USER": ADMIN_USER,
        "SINTEGRE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AIRFLOW_URL": "http://127.0.0.1:9",  # nothing listens: the page says so, fast
    }
    settings = load_settings(env)
    app = create_app(settings)
    inbox = app.extensions["sintegre"]["inbox"]
    # A year for 22 products is ~5,600 periods: two deliveries each (revisions) make 10,000.
    written = _seed_year(inbox, days=365, per_period=2)
    with inbox.engine.begin() as conn:
        conn.execute(notifications.delete().where(notifications.c.id.in_(
            [r[0] for r in conn.execute(
                notifications.select().with_only_columns(notifications.c.id)
                .order_by(notifications.c.received_at).limit(max(written - 10_000, 0))
            )]
        )))  # fmt: skip
    files = root / "files"
    files.mkdir()
    for index in range(100):
        source = files / f"serie_{index:03d}.csv"
        source.write_text(
            "data;valor;subsistema\n"
            + "".join(f"2025-04-{k:02d};{k * 1.5 + index};SE\n" for k in range(1, 21))
        )
        ingest_file(
            source,
            ProductLabels(
                nome=f"Série {index:03d}",
                macro_processo="Programação da Operação",
                periodicidade=date(2025, 4, 29),
            ),
            settings=settings,
        )
    return app, inbox.count()


def _time(client, path: str, runs: int = 5) -> float:
    assert client.get(path, headers=ADMIN).status_code == 200, path  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path, headers=ADMIN)
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, path
    return statistics.median(samples)


def test_render_time_with_a_year_of_notifications_and_100_datasets(big, record_property):
    """expected: each page renders in well under 3 s (target 300 ms) with 10,000 notifications
    and 100 datasets; the medians are printed and recorded."""
    app, count = big
    assert count == 10_000
    client = app.test_client()
    any_id = app.extensions["sintegre"]["inbox"].list(limit=1)[0]["id"]
    timings = {}
    for name, path in (
        ("status page (with calendar)", "/"),
        ("/api/arrivals", "/api/arrivals"),
        ("/lake (100 datasets)", "/lake"),
        ("/lake/<dataset>", "/lake/serie_050"),
        ("/notifications/<id>", f"/notifications/{any_id}"),
    ):
        timings[name] = _time(client, path)
    report = ", ".join(f"{name}: {seconds * 1000:.0f} ms" for name, seconds in timings.items())
    print(f"\nrender medians with {count} notifications and 100 datasets: {report}")
    record_property("render_ms", json.dumps({k: round(v * 1000) for k, v in timings.items()}))
    for name, seconds in timings.items():
        assert seconds < 3.0, f"{name} took {seconds:.2f} s"
