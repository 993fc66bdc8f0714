"""Sample products and SINtegre's buttons: real HTTPS file server, real local webhook, no mocks.

The webhook is a tiny ``http.server`` that answers 200 (or 500 for its first N requests),
records every body and header, and can hold requests until N are in flight at once, which
proves a burst really is concurrent.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.header import decode_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
import requests

from sintegre.catalog.products import load_catalog
from sintegre_dev.simulator import (
    DEFAULT_SECRET,
    PASCAL_CASE_KEYS,
    SAMPLE_PRODUCT_IDS,
    DeliveryState,
    Sample,
    SimulatorServer,
    details,
    format_details,
    operative_week,
    publish_and_send,
    resend_pending,
    sample_products,
    send_all,
)
from sintegre_dev.simulator.cli import main as cli_main

INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"
DAY = date(2025, 3, 5)  # a Wednesday
CAMEL_KEYS = [
    "nome",
    "processo",
    "dataProduto",
    "macroProcesso",
    "periodicidade",
    "periodicidadeFinal",
    "url",
]


# --- the test webhook --------------------------------------------------------------


@dataclass
class Webhook:
    """What the test webhook saw, and how it answers."""

    url: str = ""
    fail_first: int = 0
    hold_until: int = 0  # >0: hold each request until this many are in flight
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _barrier: threading.Barrier | None = None

    def bodies(self) -> list[dict]:
        with self._lock:
            return [json.loads(body) for _, body in self.received]


def _handler(hook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with hook._lock:
                hook.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                number = len(hook.received)
                hook._in_flight += 1
                hook.max_in_flight = max(hook.max_in_flight, hook._in_flight)
            status = 500 if number <= hook.fail_first else 200
            if hook._barrier is not None:
                try:
                    hook._barrier.wait()
                except threading.BrokenBarrierError:
                    status = 504  # not all requests came at once
            with hook._lock:
                hook._in_flight -= 1
            answer = json.dumps({"status": "ok" if status == 200 else "error"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _start_webhook(hook: Webhook) -> Iterator[Webhook]:
    if hook.hold_until:
        hook._barrier = threading.Barrier(hook.hold_until, timeout=5)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hook))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/sintegre/default"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    yield from _start_webhook(Webhook())


@pytest.fixture
def failing_webhook() -> Iterator[Webhook]:
    yield from _start_webhook(Webhook(fail_first=2))


@pytest.fixture
def burst_webhook() -> Iterator[Webhook]:
    yield from _start_webhook(Webhook(hold_until=len(SAMPLE_PRODUCT_IDS)))


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    return sample_products(tmp_path_factory.mktemp("samples"), DAY)


def _token(payload: dict) -> str:
    url = payload.get("url") or payload["Uri"]
    return parse_qs(urlsplit(url).query)["token"][0]


def _claims(token: str) -> dict:
    return jwt.decode(
        token, DEFAULT_SECRET, algorithms=["HS256"], audience="http://local.ons.org.br"
    )


# --- samples -----------------------------------------------------------------------

NAME_PATTERNS = {
    275: (r"Blocos_(\d{4}-\d{2}-\d{2})\.zip", "%Y-%m-%d"),
    234: (r"Vazões Observadas - \d{2}-\d{2}-\d{4} a (\d{2}-\d{2}-\d{4})\.xlsx", "%d-%m-%Y"),
    238: (r"Modelos_Chuva_Vazao_(\d{8})\.zip", "%Y%m%d"),
    487: (r"psat_(\d{8})\.txt", "%d%m%Y"),
    155: (r"IPDO-(\d{2}-\d{2}-\d{4})\.pdf", "%d-%m-%Y"),
}


def test_samples_cover_every_kind_with_catalog_fields(samples: list[Sample]) -> None:
    catalog = load_catalog()

    assert [s.product_id for s in samples] == list(SAMPLE_PRODUCT_IDS)
    assert {275, 234, 228, 487, 155, 288} <= set(SAMPLE_PRODUCT_IDS)
    assert {s.kind for s in samples} == {"xlsx", "zip", "txt", "pdf", "folder"}
    for sample in samples:
        product = catalog.by_id(sample.product_id)
        assert product is not None
        assert sample.nome == product.name  # exactly, double spaces and all
        assert sample.processo == product.processo
        assert sample.macro_processo == product.macro_processo
        assert sample.granularity == product.granularity
        assert sample.path.exists()
        assert sample.day == DAY
        assert sample.is_file == (sample.kind != "folder")


def test_sample_file_names_parse_to_their_period(samples: list[Sample]) -> None:
    by_id = {s.product_id: s for s in samples}
    for product_id, (pattern, fmt) in NAME_PATTERNS.items():
        sample = by_id[product_id]
        match = re.fullmatch(pattern, sample.file_name)
        assert match, sample.file_name
        assert sample.path.name == sample.file_name
        assert datetime.strptime(match.group(1), fmt) == sample.periodicidade
    # IPDO and the hydrology report label the day before they are sent (catalog day_offset).
    assert by_id[155].data_produto == "04/03/2025"
    assert by_id[234].data_produto == "04/03/2025"
    assert by_id[275].data_produto == "05/03/2025"
    assert by_id[487].data_produto == "05/03/2025"
    weekly = re.fullmatch(r"RV(\d)_PMO_(\w+)_(\d{4})_carga_semanal\.zip", by_id[228].file_name)
    assert weekly and weekly.groups() == ("0", "Março", "2025")


def test_sample_contents_open(samples: list[Sample]) -> None:
    from openpyxl import load_workbook

    by_id = {s.product_id: s for s in samples}
    with zipfile.ZipFile(by_id[275].path) as archive:
        assert sorted(archive.namelist()) == ["Bloco_TM.txt", "DE.txt", "DP.txt"]
        dp_text = archive.read("DP.txt").decode("latin-1")
    # DESSEM DP records: subsystem 1 (SE), day 5, 00:00, demand 36000 MW.
    assert dp_text.startswith("&\r\n")
    assert "\r\nDP   1   5  0 0  F           36000\r\n" in dp_text
    assert by_id[234].file_name == "Vazões Observadas - 05-12-2024 a 04-03-2025.xlsx"
    workbook = load_workbook(by_id[234].path, read_only=True)
    assert workbook.sheetnames == ["Grande", "Paranaiba", "Dados_Fluviometricos"]
    workbook.close()
    with zipfile.ZipFile(by_id[228].path) as archive:
        assert sorted(archive.namelist()) == [
            "DP_REV00PMO202503.txt",
            "Mensal_DP_PREV00PMO202503.xlsx",
            "RV0_PMO_Março_2025_carga_semanal.xlsx",
            "Semanal_DP_PREV_REV00PMO202503.xlsx",
        ]
    with zipfile.ZipFile(by_id[238].path) as archive:
        names = archive.namelist()
        assert all(name.startswith("Modelos_Chuva_Vazao/") for name in names)
        flows = archive.read("Modelos_Chuva_Vazao/SMAP/Grande/ARQ_ENTRADA/CAMARGOS.txt")
    first = flows.decode("latin-1").splitlines()[0]
    assert re.fullmatch(r"\d{8}\|COO\|DI\|VVV\|\d{4}-\d\d-\d\d 00:00:00\|\d{6}\.\d\d", first)
    assert by_id[155].path.read_bytes().startswith(b"%PDF-1.4")
    psat_lines = by_id[487].path.read_text(encoding="ascii").splitlines()
    assert len(psat_lines) == 6  # one line per sub-basin code
    assert all(
        re.fullmatch(r"PSAT\w+\s+-?\d+\.\d\d\s+-?\d+\.\d\d\s+\d+\.\d\d", ln) for ln in psat_lines
    )
    assert by_id[288].path.is_dir()
    assert sorted(p.name for p in by_id[288].path.rglob("*") if p.is_file()) == [
        "GTMIN_CCEE_032025.xlsx",
        "NT_Medio_Prazo_032025.pdf",
    ]


def test_data_produto_shapes_per_granularity(samples: list[Sample]) -> None:
    shapes = {
        "daily": r"\d{2}/\d{2}/\d{4}",
        "weekly": r"\d{2}/\d{2}/\d{4} - \d{2}/\d{2}/\d{4}",
        "monthly": r"\d{2}/\d{4}",
    }
    assert {s.granularity for s in samples} == set(shapes)
    for sample in samples:
        assert re.fullmatch(shapes[sample.granularity], sample.data_produto), sample
        start, end = sample.periodicidade, sample.periodicidade_final
        assert start.tzinfo is None and end.tzinfo is None  # naive Brasília
        assert start.time() == datetime.min.time()
        assert (end.hour, end.minute, end.second, end.microsecond) == (23, 59, 59, 0)
    monthly = next(s for s in samples if s.granularity == "monthly")
    assert monthly.data_produto == "03/2025"
    assert monthly.periodicidade == datetime(2025, 3, 1)
    assert monthly.periodicidade_final == datetime(2025, 3, 31, 23, 59, 59)


@pytest.mark.parametrize("offset", range(8))
def test_weekly_period_is_saturday_to_friday_around_day(tmp_path: Path, offset: int) -> None:
    day = DAY + timedelta(days=offset)
    [weekly] = sample_products(tmp_path, day, product_ids=(228,))

    start, end = weekly.periodicidade.date(), weekly.periodicidade_final.date()

    assert start.weekday() == 5  # Saturday
    assert end.weekday() == 4  # Friday
    assert end - start == timedelta(days=6)
    assert start <= day <= end
    assert (start, end) == operative_week(day)
    assert weekly.data_produto == f"{start:%d/%m/%Y} - {end:%d/%m/%Y}"


def test_samples_are_deterministic_per_day_and_differ_between_days(tmp_path: Path) -> None:
    first = sample_products(tmp_path / "a", DAY)
    again = sample_products(tmp_path / "a", DAY)
    other_day = sample_products(tmp_path / "b", DAY + timedelta(days=1))

    for one, two, three in zip(first, again, other_day, strict=True):
        if one.is_file:
            assert one.path.read_bytes() == two.path.read_bytes(), one.file_name
            if one.granularity == "daily":
                assert one.path.read_bytes() != three.path.read_bytes(), one.file_name
            else:  # the next day is in the same operative week: the same weekly file
                assert one.path.read_bytes() == three.path.read_bytes(), one.file_name
    next_week = sample_products(tmp_path / "c", DAY + timedelta(days=7), product_ids=(228,))
    assert next_week[0].file_name == "RV1_PMO_Março_2025_carga_semanal.zip"
    assert next_week[0].path.read_bytes() != first[SAMPLE_PRODUCT_IDS.index(228)].path.read_bytes()


def test_unknown_sample_product_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        sample_products(tmp_path, DAY, product_ids=(999,))


def test_folder_sample_served_as_nome_zip(
    sim: SimulatorServer, samples: list[Sample], webhook: Webhook
) -> None:
    folder = next(s for s in samples if not s.is_file)

    delivery = publish_and_send(sim, webhook.url, folder)

    assert delivery.ok
    claims = _claims(delivery.token or "")
    assert claims["IsFile"] == "False"
    assert re.fullmatch(r"/sites/9/52/71/Produtos/288/\d{2}-\d{2}-\d{4}_\d{6}", claims["URL"])
    response = requests.get(delivery.payload["url"], verify=sim.ca_path, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    encoded = response.headers["Content-Disposition"].split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "Notas Técnicas - Medio Prazo.zip" == f"{folder.nome}.zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == [
            "GTMIN_CCEE_032025.xlsx",
            "NT_Medio_Prazo_032025.pdf",
        ]


def test_file_sample_download_matches_file(
    sim: SimulatorServer, samples: list[Sample], webhook: Webhook
) -> None:
    weekly = next(s for s in samples if s.product_id == 228)

    delivery = publish_and_send(sim, webhook.url, weekly, disposition="rfc2047")

    response = requests.get(delivery.payload["url"], verify=sim.ca_path, timeout=10)
    assert response.content == weekly.path.read_bytes()
    encoded_word = response.headers["Content-Disposition"].split('filename="', 1)[1].rstrip('"')
    [(raw, charset)] = decode_header(encoded_word)
    assert raw.decode(charset) == weekly.file_name
    [(_, body)] = webhook.received
    assert json.loads(body) == delivery.payload
    assert list(delivery.payload) == CAMEL_KEYS


# --- buttons -----------------------------------------------------------------------


def test_send_all_is_one_concurrent_burst(
    sim: SimulatorServer, samples: list[Sample], burst_webhook: Webhook, tmp_path: Path
) -> None:
    state = DeliveryState(tmp_path / "state.json")

    deliveries = send_all(
        sim, burst_webhook.url, samples, state=state, auth="basic", user="ons", password="pâss"
    )

    # The webhook held every request until all of them were in flight at once.
    assert burst_webhook.max_in_flight == len(samples)
    assert [d.status for d in deliveries] == [200] * len(samples)
    assert len(burst_webhook.received) == len(samples)
    expected_auth = "Basic " + base64.b64encode("ons:pâss".encode()).decode()
    assert {h["authorization"] for h, _ in burst_webhook.received} == {expected_auth}
    bodies = {body["nome"]: body for body in burst_webhook.bodies()}
    assert set(bodies) == {s.nome for s in samples}
    for sample, delivery in zip(samples, deliveries, strict=True):
        body = bodies[sample.nome]
        assert list(body) == CAMEL_KEYS
        assert body["dataProduto"] == sample.data_produto
        assert body["periodicidade"] == sample.periodicidade.isoformat()
        assert body["processo"] == sample.processo
        assert delivery.payload == body
        assert len(delivery.notification_id) == 24
        # Every file downloads with its token (an earlier test may have minted the same
        # token in the same second, hence the relative count).
        before = sim.request_count(body["url"])
        response = requests.get(body["url"], verify=sim.ca_path, timeout=10)
        assert response.status_code == 200
        assert sim.request_count(body["url"]) == before + 1
    assert len({d.token for d in deliveries}) == len(samples)
    assert len({d.token_nbf for d in deliveries}) == 1  # one burst, one instant

    # The state file records each product's last delivery, payload included, mode 0600.
    state_file = tmp_path / "state.json"
    assert state_file.stat().st_mode & 0o777 == 0o600
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert saved["version"] == 1
    assert sorted(int(k) for k in saved["products"]) == sorted(SAMPLE_PRODUCT_IDS)
    for delivery in deliveries:
        record = saved["products"][str(delivery.product_id)]
        assert record["status"] == 200
        assert record["notification_id"] == delivery.notification_id
        assert record["payload"] == delivery.payload
        assert datetime.fromisoformat(record["sent_at"]).utcoffset() == timedelta(hours=-3)
    assert DeliveryState(state_file).pending() == []


def test_notification_id_is_receiver_style_body_hash(
    sim: SimulatorServer, samples: list[Sample], webhook: Webhook
) -> None:
    import hashlib

    delivery = publish_and_send(sim, webhook.url, samples[0])

    [(_, body)] = webhook.received
    assert delivery.notification_id == hashlib.sha256(body).hexdigest()[:24]


def test_resend_pending_resends_only_failures_with_fresh_tokens(
    sim: SimulatorServer, samples: list[Sample], failing_webhook: Webhook, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    state = DeliveryState(state_file)

    first = send_all(sim, failing_webhook.url, samples, state=state, auth="token", token="t0k")
    failed = {d.product_id for d in first if d.status == 500}
    first_tokens = {d.product_id: d.token for d in first}
    assert len(failed) == 2
    assert sum(d.ok for d in first) == len(samples) - 2
    assert {r["product_id"] for r in DeliveryState(state_file).pending()} == failed

    again = resend_pending(sim, failing_webhook.url, state, auth="token", token="t0k")

    assert {d.product_id for d in again} == failed
    for delivery in again:
        assert delivery.status == 200
        assert delivery.resend is True
        assert delivery.attempt == 2
        assert delivery.token != first_tokens[delivery.product_id]
        claims = _claims(delivery.token or "")
        previous = _claims(first_tokens[delivery.product_id] or "")
        assert claims["nbf"] > previous["nbf"]
        assert claims["exp"] - claims["nbf"] == 86_640
        sample = next(s for s in samples if s.product_id == delivery.product_id)
        response = requests.get(delivery.payload["url"], verify=sim.ca_path, timeout=10)
        assert response.status_code == 200
        if sample.is_file:
            assert response.content == sample.path.read_bytes()
    # Exactly the failed ones were sent again: N + 2 POSTs, the resends' bodies carry new tokens.
    assert len(failing_webhook.received) == len(samples) + 2
    resent_bodies = failing_webhook.bodies()[len(samples) :]
    assert {_token(b) for b in resent_bodies} == {d.token for d in again}
    assert {h["authorization"] for h, _ in failing_webhook.received} == {"t0k"}

    reloaded = DeliveryState(state_file)
    assert reloaded.pending() == []
    for product_id in SAMPLE_PRODUCT_IDS:
        record = reloaded.last(product_id)
        assert record is not None
        assert record["status"] == 200
        assert record["attempts"] == (2 if product_id in failed else 1)
    assert resend_pending(sim, failing_webhook.url, reloaded) == []


def test_unreachable_webhook_is_pending(
    sim: SimulatorServer, samples: list[Sample], webhook: Webhook, tmp_path: Path
) -> None:
    state = DeliveryState(tmp_path / "state.json")
    closed = "http://127.0.0.1:9/unreachable"  # discard port: nothing listens

    [delivery] = send_all(sim, closed, samples[:1], state=state, timeout=2)

    assert delivery.status is None
    assert delivery.error == "ConnectionError"
    assert not delivery.ok
    assert "ConnectionError" in delivery.summary()
    [row] = [r for r in details(state) if r.product_id == samples[0].product_id]
    assert row.status_text == "error ConnectionError (pending)"
    [resent] = resend_pending(sim, webhook.url, state)
    assert resent.ok and resent.product_id == samples[0].product_id


def test_pascal_case_payload_keys(
    sim: SimulatorServer, samples: list[Sample], webhook: Webhook, tmp_path: Path
) -> None:
    state = DeliveryState(tmp_path / "state.json")

    deliveries = send_all(sim, webhook.url, samples[:3], state=state, pascal_case=True)

    for body in webhook.bodies():
        assert (
            list(body)
            == list(PASCAL_CASE_KEYS)
            == [
                "Nome",
                "Processo",
                "DataProduto",
                "MacroProcesso",
                "Periodicidade",
                "PeriodicidadeFinal",
                "Uri",
            ]
        )
        assert requests.get(body["Uri"], verify=sim.ca_path, timeout=10).status_code == 200
    assert {d.token for d in deliveries} == {_token(b) for b in webhook.bodies()}


def test_details_lists_every_product_with_last_status(
    sim: SimulatorServer, samples: list[Sample], failing_webhook: Webhook, tmp_path: Path
) -> None:
    state = DeliveryState(tmp_path / "state.json")
    never_sent = samples[-1]
    deliveries = send_all(sim, failing_webhook.url, samples[:-1], state=state)

    rows = details(state)
    table = format_details(rows)

    assert [row.product_id for row in rows] == sorted(SAMPLE_PRODUCT_IDS)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["id", "nome", "dataProduto"]
    for delivery in deliveries:
        [line] = [ln for ln in lines if ln.startswith(f"{delivery.product_id} ")]
        assert delivery.nome in line
        assert delivery.data_produto in line
        assert delivery.notification_id in line
        assert (
            f"{delivery.status} (pending)" if delivery.status == 500 else f"  {delivery.status}  "
        ) in line
    [line] = [ln for ln in lines if ln.startswith(f"{never_sent.product_id} ")]
    assert never_sent.nome in line and "never sent" in line
    assert "token" not in table and "eyJ" not in table


def test_cli_details_and_publish_and_send_in_process(
    webhook: Webhook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    common = ["--state", str(state), "--port", "0", "--cert-dir", str(tmp_path / "certs")]
    common += ["--workdir", str(tmp_path / "files"), "--day", DAY.isoformat(), "--linger", "0"]

    code = cli_main(["publish-and-send", webhook.url, "--product", "487", *common])
    sent = capsys.readouterr().out
    assert code == 0
    [line] = sent.splitlines()
    assert line.startswith("487 Precipitação por Satélite: HTTP 200, notification ")

    assert cli_main(["resend-pending", webhook.url, *common]) == 0
    assert capsys.readouterr().out.strip() == "nothing pending"

    assert cli_main(["details", "--state", str(state)]) == 0
    table = capsys.readouterr().out
    for product_id in SAMPLE_PRODUCT_IDS:
        assert any(ln.startswith(f"{product_id} ") for ln in table.splitlines())
    [row] = [ln for ln in table.splitlines() if ln.startswith("487 ")]
    assert "05/03/2025" in row and " 200 " in row
    assert "never sent" in table
    assert "token=" not in sent + table and "eyJ" not in sent + table

    assert cli_main(["publish-and-send", webhook.url, "--product", "1", *common]) == 2
    assert cli_main(["send-all", webhook.url, "--auth", "basic", *common]) == 2
    assert len(webhook.received) == 1


def test_cli_send_all_subprocess(failing_webhook: Webhook, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    cert_dir = tmp_path / "certs"
    command = [sys.executable, "-m", "sintegre_dev.simulator", "send-all", failing_webhook.url]
    command += ["--state", str(state), "--port", "0", "--cert-dir", str(cert_dir)]
    command += ["--workdir", str(tmp_path / "files"), "--day", DAY.isoformat()]
    command += ["--auth", "basic", "--user", "ons", "--linger", "0"]
    env = {**os.environ, "PYTHONPATH": str(INCLUDE_DIR), "SINTEGRE_WEBHOOK_PASSWORD": "s3cr3t"}

    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    # Two 500s: a non-zero exit tells a script something is pending.
    assert first.returncode == 1, first.stderr
    ca_after_first = (cert_dir / "sintegre-simulator-ca.pem").read_bytes()
    failing_webhook.fail_first = 0
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    assert again.returncode == 0, again.stderr
    for run in (first, again):
        output = run.stdout + run.stderr
        assert "token=" not in output
        assert "eyJ" not in output
        assert "s3cr3t" not in output
        lines = run.stdout.splitlines()
        assert len(lines) == len(SAMPLE_PRODUCT_IDS)
        assert sorted(int(line.split()[0]) for line in lines) == sorted(SAMPLE_PRODUCT_IDS)
        assert all(re.search(r": HTTP \d{3}, notification [0-9a-f]{24}", ln) for ln in lines)
    assert sum("HTTP 500" in line for line in first.stdout.splitlines()) == 2
    assert all("HTTP 200" in line for line in again.stdout.splitlines())
    assert len(failing_webhook.received) == 2 * len(SAMPLE_PRODUCT_IDS)
    expected = "Basic " + base64.b64encode(b"ons:s3cr3t").decode()
    assert {h["authorization"] for h, _ in failing_webhook.received} == {expected}
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert {r["status"] for r in saved["products"].values()} == {200}
    # The second run reused the CA the first run made.
    assert (cert_dir / "sintegre-simulator-ca.pem").read_bytes() == ca_after_first
