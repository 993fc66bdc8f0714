"""Receiver throughput and latency at 1 and 16 concurrent clients, against a trivial endpoint.

Both apps run under the same gunicorn settings; the client is the same. The receiver does
the real work: Basic auth, JSON validation, token decode, and a SQLite commit with
``synchronous=FULL`` (an fsync) before it answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from sintegre.simulator import mint_token  # noqa: E402

WORKERS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _payloads(count: int) -> list[bytes]:
    now = int(time.time())
    bodies = []
    for index in range(count):
        token = mint_token(
            url_claim=f"https://sintegre.ons.org.br/sites/9/13/56/Produtos/230/ACOMPH_{index}.xls",
            nome_produto="Acomph",
            nbf=now - index,
        )
        bodies.append(
            json.dumps(
                {
                    "nome": "Acomph",
                    "processo": "Acompanhamento das Condições Hidroenergéticas",
                    "dataProduto": "29/04/2025",
                    "macroProcesso": "Programação da Operação",
                    "periodicidade": "2025-04-29T00:00:00",
                    "periodicidadeFinal": "2025-04-29T23:59:59",
                    "url": f"https://apps08.ons.org.br/ONS.Sintegre.Proxy/webhook?token={token}",
                },
                ensure_ascii=False,
            ).encode()
        )
    return bodies


def _serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def _load(port: int, bodies: list[bytes], clients: int, auth: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    chunks = [bodies[i::clients] for i in range(clients)]

    def worker(chunk: list[bytes]) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        bad = 0
        for body in chunk:
            started = time.perf_counter()
            conn.request(
                "POST",
                "/sintegre/default",
                body=body,
                headers={"Content-Type": "application/json", "Authorization": auth},
            )
            response = conn.getresponse()
            response.read()
            local.append(time.perf_counter() - started)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(local)
            errors += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(bodies),
        "errors": errors,
        "per_second": round(len(bodies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def run(requests_per_level: int = 1500) -> dict[str, Any]:
    """Measure both apps at 1 and 16 clients; return figures and ratios."""
    auth = "Basic " + base64.b64encode(b"ons:bench-pass").decode()
    results: dict[str, Any] = {"workers": WORKERS}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": f"{ROOT / 'include'}{os.pathsep}{ROOT}",
                "SINTEGRE_STATE_DIR": tmp,
                "LAKE_URI": str(Path(tmp) / "lake"),
                "SINTEGRE_WEBHOOK_AUTH": "basic",
                "SINTEGRE_WEBHOOK_USER": "ons",
                "SINTEGRE_WEBHOOK_PASSWORD": "bench-pass",
            }
        )
        for clients in (1, 16):
            bodies = _payloads(requests_per_level)
            figures = {}
            for name, app in (
                ("baseline", "bench.trivial_app:app"),
                ("receiver", "sintegre.receiver.wsgi:app"),
            ):
                port = _free_port()
                process = _serve(app, port, env)
                try:
                    _load(port, bodies[:50], min(clients, 4), auth)  # warm-up
                    fresh = _payloads(requests_per_level) if name == "receiver" else bodies
                    figures[name] = _load(port, fresh, clients, auth)
                finally:
                    process.terminate()
                    process.wait()
            receiver, baseline = figures["receiver"], figures["baseline"]
            results[f"clients_{clients}"] = {
                **figures,
                "throughput_ratio": round(receiver["per_second"] / baseline["per_second"], 3),
                "p99_ratio": round(receiver["p99_ms"] / baseline["p99_ms"], 3),
            }
    return results
