"""Receiver throughput and latency at 1 and 16 concurrent clients, against a trivial endpoint.

Both apps run under the very same gunicorn command line (the one ``make run`` uses, from
:func:`sintegre_dev.devstack.receiver_command`); the load generator is the same for both. The
receiver does the real work: Basic auth, JSON validation, token decode, and a SQLite commit
with ``synchronous=FULL`` (an fsync) before it answers; the baseline answers 200 at once.

Each level runs for a bounded time (10 s by default). The load generator is ``wrk`` when it
is installed (a Lua script posts a different, valid notification on every request, so every
request is a new row, not a duplicate), else a Python one (threads, one keep-alive
connection each) that posts the same bodies.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.rounds import loadavg, span
from sintegre_dev.devstack import RECEIVER_WORKERS, receiver_command
from sintegre_dev.simulator import mint_token

ROOT = Path(__file__).resolve().parents[1]

LEVELS = (1, 16)
#: Each level runs baseline, receiver, baseline, receiver … this many times (issue #17: the
#: machine's load moves more between two blocks than the figure does): the ratio is the
#: median of the rounds' ratios, shown with its spread and the load average.
ROUNDS = 3
#: Target: at 16 clients the receiver accepts at least this fraction of the trivial rate.
TARGET_RATIO_16 = 0.5
WEBHOOK_PASSWORD = "bench-pass"

# wrk: every request takes the next body of this thread's slice of the file; the summary
# comes back as one JSON line so nothing depends on wrk's human-readable output.
WRK_SCRIPT = r"""
local bodies = {}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index % nthreads == tid then table.insert(bodies, line) end
    index = index + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = args[3]
  position = 0
end

function request()
  position = position % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[position])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payloads(count: int, *, seed: str = "") -> list[bytes]:
    """``count`` distinct, valid notification bodies (each a new inbox row).

    Args:
        count: How many.
        seed: Makes the bodies of one call differ from another call's (new file names).
    """
    now = int(time.time())
    bodies = []
    for index in range(count):
        token = mint_token(
            url_claim=(
                f"https://sintegre.ons.org.br/sites/9/13/56/Produtos/230/ACOMPH_{seed}{index}.xls"
            ),
            nome_produto="Acomph",
            nbf=now - index % 3600,
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


def server_env(state_dir: str) -> dict[str, str]:
    """The environment both apps are served with: this one, plus a state folder and Basic auth."""
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'include'}{os.pathsep}{ROOT}",
        "SINTEGRE_STATE_DIR": state_dir,
        "LAKE_URI": str(Path(state_dir) / "lake"),
        "SINTEGRE_WEBHOOK_AUTH": "basic",
        "SINTEGRE_WEBHOOK_USER": "ons",
        "SINTEGRE_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
        # The receiver logs one JSON line per request in production too; keep it.
        "SINTEGRE_LOG_FORMAT": "json",
    }


def _shape() -> dict[str, int]:
    """The gunicorn shape: ``make run``'s, unless BENCH_RECEIVER_WORKERS/THREADS say otherwise."""
    shape = {}
    for key in ("workers", "threads"):
        value = os.environ.get(f"BENCH_RECEIVER_{key.upper()}")
        if value:
            shape[key] = int(value)
    return shape


def serve(
    app: str, port: int, env: dict[str, str], shape: dict[str, int] | None = None
) -> subprocess.Popen:
    """Start ``app`` under the receiver's gunicorn command line; wait until every worker booted."""
    shape = _shape() if shape is None else shape
    args = receiver_command(f"127.0.0.1:{port}", app=app, **shape)
    # Only the benchmark adds these: quiet logs and a hook that reports booted workers.
    args += ["--log-level", "warning", "-c", "python:bench.gunicorn_ready"]
    ready = Path(tempfile.mkdtemp(prefix="ready-"))
    workers = shape.get("workers", RECEIVER_WORKERS)
    process = subprocess.Popen(
        args,
        env={**env, "BENCH_READY_DIR": str(ready)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with code {process.returncode}")
            if len(list(ready.iterdir())) >= workers:
                return process
            time.sleep(0.2)
    finally:
        shutil.rmtree(ready, ignore_errors=True)
    _stop(process)
    raise RuntimeError(f"{app} did not start {workers} workers in 120 s")


def _stop(process: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load_wrk(
    port: int, bodies_file: Path, clients: int, seconds: float, auth: str
) -> dict[str, Any]:
    """Drive the server with ``wrk`` for ``seconds``; accepted = 2xx answers."""
    threads = min(clients, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}/sintegre/default",
                "--",
                str(bodies_file),
                str(threads),
                auth,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    summary = json.loads(output.strip().splitlines()[-1])
    errors = sum(summary[k] for k in ("connect", "read", "write", "timeout"))
    # wrk counts answered requests; a non-2xx answer is not an acceptance.
    accepted = summary["requests"] - summary["non_2xx"]
    elapsed = summary["duration_us"] / 1e6
    return {
        "requests": summary["requests"],
        "accepted": accepted,
        "errors": summary["non_2xx"] + errors,
        "seconds": round(elapsed, 2),
        "per_second": round(accepted / elapsed, 1),
        "p50_ms": round(summary["p50_us"] / 1000, 2),
        "p99_ms": round(summary["p99_us"] / 1000, 2),
    }


def load_python(
    port: int, bodies: list[bytes], clients: int, seconds: float, auth: str
) -> dict[str, Any]:
    """The fallback generator: ``clients`` threads, each POSTing in a loop for ``seconds``."""
    latencies: list[float] = []
    counts = {"requests": 0, "accepted": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local: list[float] = []
        sent = ok = bad = 0
        index = offset
        while time.perf_counter() < deadline:
            body = bodies[index % len(bodies)]
            index += clients
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/sintegre/default",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": auth},
                )
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            local.append(time.perf_counter() - started)
            sent += 1
            ok += 200 <= status < 300
            bad += not 200 <= status < 300
        conn.close()
        with lock:
            latencies.extend(local)
            counts["requests"] += sent
            counts["accepted"] += ok
            counts["errors"] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        **counts,
        "seconds": round(elapsed, 2),
        "per_second": round(counts["accepted"] / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2)
        if latencies
        else None,
    }


@contextlib.contextmanager
def warmed_server(
    app: str,
    env: dict[str, str],
    auth: str,
    *,
    tag: str,
    clients: int,
    shape: dict[str, int] | None = None,
) -> Iterator[tuple[subprocess.Popen, int]]:
    """``app`` served (see :func:`serve`) and warmed up for a second by up to four clients
    posting bodies of their own; yields the server process and its port, stops it after."""
    port = _free_port()
    process = serve(app, port, env, shape)
    try:
        load_python(port, payloads(200, seed=f"warm{tag}"), min(clients, 4), 1.0, auth)
        yield process, port
    finally:
        _stop(process)


def drive(
    port: int,
    bodies: list[bytes],
    clients: int,
    seconds: float,
    auth: str,
    *,
    generator: str,
    folder: Path,
    tag: str,
) -> dict[str, Any]:
    """Post ``bodies`` with ``generator`` (``wrk``: through a file in ``folder`` named after
    ``tag``; else :func:`load_python`)."""
    if generator != "wrk":
        return load_python(port, bodies, clients, seconds, auth)
    bodies_file = folder / f"bodies-{tag}.jsonl"
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    return load_wrk(port, bodies_file, clients, seconds, auth)


def basic_auth() -> str:
    """The ``Authorization`` header both apps are sent (the receiver checks it)."""
    return "Basic " + base64.b64encode(f"ons:{WEBHOOK_PASSWORD}".encode()).decode()


def _level(per_round: list[dict[str, Any]], load_start: list[float]) -> dict[str, Any]:
    """One level's rounds: the median round's figures, the median ratio, the spreads."""
    ratios = [r["receiver"]["per_second"] / r["baseline"]["per_second"] for r in per_round]
    median_round = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]
    figures = per_round[median_round]
    receiver, baseline = figures["receiver"], figures["baseline"]
    return {
        **figures,
        "rounds": len(per_round),
        "throughput_ratio": round(statistics.median(ratios), 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "ratio_spread": span(ratios, 3),
        "receiver_per_second_spread": span([r["receiver"]["per_second"] for r in per_round], 1),
        "baseline_per_second_spread": span([r["baseline"]["per_second"] for r in per_round], 1),
        "accepted_total": sum(r["receiver"]["accepted"] for r in per_round),
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "p50_ratio": round(receiver["p50_ms"] / baseline["p50_ms"], 2),
        "p99_ratio": round(receiver["p99_ms"] / baseline["p99_ms"], 2),
    }


#: make run's receiver before issue #17's gevent worker, measured next to it for before/after.
FORMER_SHAPE = "2 gthread workers × 8 threads"


def run(
    seconds: float = 10.0, *, generator: str | None = None, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Measure the receiver and the trivial app at 1 and 16 clients for ``seconds`` each,
    interleaved in ``rounds`` rounds.

    Args:
        seconds: Duration of each measured level (after a short warm-up).
        generator: ``"wrk"`` or ``"python"``; ``wrk`` when installed if omitted.
        rounds: Baseline-then-receiver rounds per level.

    Returns:
        Per level, both apps' figures of the median round (accepted/s, p50/p99 ms, errors),
        the median of the rounds' ratios, their spread and the load average.
    """
    generator = generator or ("wrk" if shutil.which("wrk") else "python")
    auth = basic_auth()
    # Enough distinct bodies that no level sends one twice (a repeat is a duplicate, cheaper,
    # and no new row: every_2xx_stored below would count it missing). wrk gives each of its
    # two threads half the bodies and its threads do not share the load evenly: at 3,100/s
    # the receiver repeated ~2,900 bodies of 30,000 in one round (issue #17, session 12).
    per_level = int(8000 * seconds) if generator == "wrk" else int(1500 * seconds)
    results: dict[str, Any] = {
        "generator": generator,
        "seconds_per_level": seconds,
        "server": " ".join(receiver_command("127.0.0.1:PORT", **_shape())[1:]),
    }
    with tempfile.TemporaryDirectory(prefix="sintegre-bench-") as tmp:
        env = server_env(tmp)
        for clients in LEVELS:
            load_start = loadavg()
            per_round = []
            for index in range(rounds):
                figures = {}
                for name, app in (
                    ("baseline", "bench.trivial_app:app"),
                    ("receiver", "sintegre.intake.receiver.wsgi:app"),
                ):
                    tag = f"{name}{clients}_{index}_"
                    with warmed_server(app, env, auth, tag=tag, clients=clients) as (_, port):
                        figures[name] = drive(
                            port,
                            payloads(per_level, seed=tag),
                            clients,
                            seconds,
                            auth,
                            generator=generator,
                            folder=Path(tmp),
                            tag=tag,
                        )
                per_round.append(figures)
            results[f"clients_{clients}"] = _level(per_round, load_start)
        # The command line make run used before (2 gthread workers × 8 threads: a request a
        # thread, the GIL between them), at 16 clients, against the trivial app served that way.
        old = {"workers": 2, "threads": 8}
        reference = {}
        for name, app in (
            ("baseline", "bench.trivial_app:app"),
            ("receiver", "sintegre.intake.receiver.wsgi:app"),
        ):
            tag = f"sync{name}_"
            with warmed_server(app, env, auth, tag=tag, clients=4, shape=old) as (_, port):
                reference[name] = drive(
                    port,
                    payloads(per_level, seed=tag),
                    16,
                    seconds,
                    auth,
                    generator=generator,
                    folder=Path(tmp),
                    tag=tag,
                )
        results["former_shape_clients_16"] = {
            **reference,
            "shape": FORMER_SHAPE,
            "server": " ".join(receiver_command("127.0.0.1:PORT", **old)[1:]),
            "throughput_ratio": round(
                reference["receiver"]["per_second"] / reference["baseline"]["per_second"], 3
            ),
        }
        if (Path(tmp) / "inbox.sqlite3").exists():
            from sintegre.intake.inbox import Inbox

            inbox = Inbox(f"sqlite:///{Path(tmp) / 'inbox.sqlite3'}")
            results["inbox_rows"] = inbox.count()
            results["inbox_accepted_counter"] = inbox.counter_values().get("accepted", 0)
            inbox.dispose()
    accepted = sum(results[f"clients_{c}"]["accepted_total"] for c in LEVELS)
    accepted += results["former_shape_clients_16"]["receiver"]["accepted"]
    # Every 2xx must be a row: the durability promise, checked on the bench's own inbox.
    results["every_2xx_stored"] = results.get("inbox_rows", -1) >= accepted
    results["target"] = f"clients_16 throughput_ratio >= {TARGET_RATIO_16}"
    results["met"] = results["clients_16"]["throughput_ratio"] >= TARGET_RATIO_16
    return results


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(json.dumps(run(seconds), indent=2))
