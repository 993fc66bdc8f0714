"""The shipped docker-compose.yaml, run for real in containers (issue #19).

Builds the offline stand-ins of the base images (docker/standins/build.sh, idempotent: a
current image is not rebuilt) and the project image from the real ``Dockerfile``, then
``docker compose up -d`` the production shape with the unchanged ``docker-compose.yaml``
(secrets in an env file of this test's own, a project name of its own, free host ports), waits
for every health check, POSTs one day of SINtegre notifications to the receiver container
and reads the landed rows back from the S3 stand-in through its published port. The files are
served by the SINtegre simulator on the Docker bridge's host address under a DNS name the
workers resolve (``extra_hosts``) and a certificate from a CA they are told to trust: the only
test-specific additions, in an override file (the receiver allowlist comes through the env
file, as in production). ``docker compose down -v`` afterwards, whatever happened.

Docker is set up by docker/standins/dockerd.sh (``.ci/run`` calls it). Without a Docker
engine the test skips with the reason, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
import requests
import trustme

from helpers.lake import catalog_rows
from helpers.notifications import wait_final
from helpers.webhook import basic
from sintegre.core.settings import load_settings
from sintegre_dev.simulator import SimulatorServer
from sintegre_dev.simulator.buttons import send_all
from sintegre_dev.simulator.samples import sample_products
from sintegre_dev.simulator.server import CA_KEY_FILE_NAME

pytestmark = [pytest.mark.container]

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "sintegre-lake:container-test"
#: The download host's name inside the containers (the allowlist and the certificate say it).
DOWNLOAD_HOST = "sintegre-downloads.test"
BUCKET = "sintegre-lake-ct"
WEBHOOK_PASSWORD = "webhook-ct-" + secrets.token_hex(4)
ADMIN_PASSWORD = "admin-ct-" + secrets.token_hex(4)
LAKE_KEY, LAKE_SECRET = "sintegre", "lake-ct-" + secrets.token_hex(8)
#: One delivery day: the seven sample products, one notification each.
DAY = date(2025, 5, 6)
#: Kept in raw/ only (one raw_only catalog row): the IPDO PDF and the technical notes.
RAW_ONLY_PRODUCT_IDS = {155, 288}
#: The engine's address pools (docker/standins/dockerd.sh): every network in here.
ALLOWED_NETWORK = ipaddress.ip_network("198.18.0.0/15")
#: One-shot jobs: they must have exited 0; every other service must be running and healthy.
ONE_SHOT = {"airflow-init", "create-bucket"}
HEALTHY_TIMEOUT = 600
TIMINGS: dict[str, float] = {}


def _run(args: list[str], *, timeout: float = 600, env: dict[str, str] | None = None, **kw: Any):
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, check=False, **kw
    )


def docker_problem() -> str | None:
    """Why Docker cannot run containers here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI (docker/standins/dockerd.sh installs one)"
    info = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    if info.returncode != 0:
        reason = info.stderr.strip()[:200]
        return f"no Docker engine answers ({reason}); run docker/standins/dockerd.sh"
    compose = _run(["docker", "compose", "version"], timeout=30)
    if compose.returncode != 0:
        return "no `docker compose` plugin (docker/standins/dockerd.sh installs it)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge (198.18.0.1 with dockerd.sh)."""
    out = _run(["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"])
    assert out.returncode == 0, out.stderr
    gateway = json.loads(out.stdout)[0]["Gateway"]
    assert ipaddress.ip_address(gateway) in ALLOWED_NETWORK, gateway
    return gateway


class BridgeSimulator(SimulatorServer):
    """The simulator on the bridge address, with a certificate for :data:`DOWNLOAD_HOST`.

    The simulator's own certificate names only localhost; containers reach this host by the
    bridge address, under a name. After the normal start the TLS context is swapped for one
    whose certificate (from the same CA, kept with ``reuse_ca``) names the download host.
    """

    def start(self) -> BridgeSimulator:
        super().start()
        ca = trustme.CA.from_pem(
            self.ca_path.read_bytes(), (self.ca_path.parent / CA_KEY_FILE_NAME).read_bytes()
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        ca.issue_cert(DOWNLOAD_HOST).configure_cert(context)
        assert self._httpd is not None
        self._httpd.ssl_context = context
        self.base_url = f"https://{DOWNLOAD_HOST}:{self.port}"
        return self


@dataclass
class Compose:
    """One compose project of the shipped file, with this test's env and override files."""

    project: str
    env_file: Path
    override: Path
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        command = [
            "docker", "compose", "--project-name", self.project,
            "--env-file", str(self.env_file),
            "-f", str(ROOT / "docker-compose.yaml"), "-f", str(self.override),
            *args,
        ]  # fmt: skip
        return _run(command, timeout=timeout, env=self.env, cwd=ROOT)

    def check(self, *args: str, timeout: float = 600) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
        return result.stdout

    def containers(self) -> list[dict[str, Any]]:
        out = self.check("ps", "--all", "--format", "json")
        text = out.strip()
        if text.startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def logs(self, tail: int = 40) -> str:
        return self.run("logs", "--no-color", "--tail", str(tail), timeout=120).stdout[-20000:]


def _write_env_and_override(tmp: Path, gateway: str, ca_bundle: Path) -> tuple[Path, Path, dict]:
    from cryptography.fernet import Fernet

    ports = {
        "receiver": free_port(),
        "airflow": free_port(),
        "s3": free_port(),
        "console": free_port(),
    }
    values = {
        # The REQUIRED secrets (compose refuses to start without them).
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "SINTEGRE_INBOX_DB_PASSWORD": secrets.token_urlsafe(16),
        "LAKE_ACCESS_KEY_ID": LAKE_KEY,
        "LAKE_SECRET_ACCESS_KEY": LAKE_SECRET,
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW_PASSWORD": secrets.token_urlsafe(12),
        "SINTEGRE_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
        "SINTEGRE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # This run's own host ports, image and bucket.
        "RECEIVER_PORT": str(ports["receiver"]),
        "AIRFLOW_PORT": str(ports["airflow"]),
        "LAKE_S3_PORT": str(ports["s3"]),
        "LAKE_CONSOLE_PORT": str(ports["console"]),
        "AIRFLOW_PUBLIC_URL": f"http://localhost:{ports['airflow']}",
        "SINTEGRE_IMAGE": IMAGE,
        "LAKE_BUCKET": BUCKET,
        "AIRFLOW_WORKER_CONCURRENCY": "2",
        "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": DOWNLOAD_HOST,
    }
    env_file = tmp / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)
    # The only additions to the shipped file: how the workers reach and trust the simulator.
    override = {
        "services": {
            "airflow-worker": {
                "extra_hosts": [f"{DOWNLOAD_HOST}:{gateway}"],
                "environment": {
                    "REQUESTS_CA_BUNDLE": "/opt/airflow/test-ca/bundle.pem",
                    "SSL_CERT_FILE": "/opt/airflow/test-ca/bundle.pem",
                },
                "volumes": [f"{ca_bundle.parent}:/opt/airflow/test-ca:ro"],
            }
        }
    }
    override_file = tmp / "compose.override.json"  # JSON is YAML
    override_file.write_text(json.dumps(override, indent=2))
    return env_file, override_file, ports


def _wait_healthy(compose: Compose, timeout: float) -> dict[str, list[str]]:
    """Every service healthy (one-shot jobs exited 0); fails fast on an exit or unhealthy."""
    deadline = time.monotonic() + timeout
    while True:
        containers = compose.containers()
        states: dict[str, list[str]] = {}
        bad = []
        for c in containers:
            service, state, health = c["Service"], c["State"], c.get("Health", "")
            states.setdefault(service, []).append(f"{state}/{health or '-'}")
            if service in ONE_SHOT:
                if state == "exited" and c.get("ExitCode", 0) != 0:
                    bad.append((service, f"exited {c.get('ExitCode')}"))
            elif state in ("exited", "dead") or health == "unhealthy":
                bad.append((service, f"{state}/{health}"))
        assert not bad, (bad, compose.logs())
        ready = [
            c
            for c in containers
            if (c["Service"] in ONE_SHOT and c["State"] == "exited")
            or (c["State"] == "running" and c.get("Health") == "healthy")
        ]
        if containers and len(ready) == len(containers):
            return states
        assert time.monotonic() < deadline, (f"not healthy after {timeout:.0f}s", states)
        time.sleep(3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Compose, SimulatorServer]]:
    problem = docker_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and Docker cannot run the production shape: {problem}")
        pytest.skip(problem)
    tmp = tmp_path_factory.mktemp("compose")

    started = time.monotonic()
    built = _run(["bash", str(ROOT / "docker/standins/build.sh")], timeout=2400)
    assert built.returncode == 0, built.stderr[-5000:]
    TIMINGS["standins_build_seconds"] = time.monotonic() - started

    started = time.monotonic()
    image = _run(
        ["docker", "build", "-t", IMAGE, "-f", str(ROOT / "Dockerfile"), str(ROOT)], timeout=1800
    )
    assert image.returncode == 0, (image.stdout[-3000:], image.stderr[-3000:])
    TIMINGS["image_build_seconds"] = time.monotonic() - started

    gateway = bridge_gateway()
    ca_dir = tmp / "ca"
    simulator = BridgeSimulator(host=gateway, cert_dir=tmp / "sim", reuse_ca=True).start()
    ca_dir.mkdir(mode=0o755)
    bundle = ca_dir / "bundle.pem"
    bundle.write_bytes(simulator.ca_path.read_bytes())
    bundle.chmod(0o644)
    env_file, override, ports = _write_env_and_override(tmp, gateway, bundle)
    compose = Compose(
        project=f"sintegre-ct-{uuid.uuid4().hex[:8]}",
        env_file=env_file,
        override=override,
        ports=ports,
        # Only the env file fills the compose file's variables (none leak from this shell).
        env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST")},
    )
    try:
        started = time.monotonic()
        up = compose.run("up", "-d", "--no-build", timeout=HEALTHY_TIMEOUT)
        assert up.returncode == 0, (up.stderr[-3000:], compose.logs())
        states = _wait_healthy(compose, HEALTHY_TIMEOUT)
        TIMINGS["up_to_healthy_seconds"] = time.monotonic() - started
        print(f"\ncompose services: {states}")
        yield compose, simulator
    finally:
        with contextlib.suppress(Exception):
            compose.run("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300)
        simulator.stop()
        print(f"\ncontainer test timings: { {k: round(v, 1) for k, v in TIMINGS.items()} }")


def _notification(compose: Compose, notification_id: str) -> dict[str, Any]:
    response = requests.get(
        f"http://127.0.0.1:{compose.ports['receiver']}/api/notifications/{notification_id}",
        headers={"Authorization": basic("admin", ADMIN_PASSWORD)},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


@pytest.mark.timeout(2700)
def test_the_shipped_compose_file_lands_notifications_on_the_s3_lake(
    stack: tuple[Compose, SimulatorServer], tmp_path: Path
) -> None:
    compose, simulator = stack

    # --- the shape as shipped: two workers, localhost-only ports, the address-pool rule ---
    workers = [c for c in compose.containers() if c["Service"] == "airflow-worker"]
    assert len(workers) == 2, workers
    for service, port in (("receiver", 8000), ("airflow-apiserver", 8080), ("object-store", 9000)):
        published = compose.check("port", service, str(port)).strip()
        assert published.startswith("127.0.0.1:"), (service, published)
    networks = _run(
        [
            "docker",
            "network",
            "ls",
            "--filter",
            f"label=com.docker.compose.project={compose.project}",
            "-q",
        ]
    )
    assert networks.stdout.split(), networks
    for network in networks.stdout.split():
        subnets = _run(
            ["docker", "network", "inspect", network, "--format", "{{json .IPAM.Config}}"]
        )
        for config in json.loads(subnets.stdout):
            assert ipaddress.ip_network(config["Subnet"]).subnet_of(ALLOWED_NETWORK), config
    # Non-root, and the runtime set only: no test tool made it into the image.
    assert compose.check("exec", "-T", "receiver", "id", "-u").strip() == "50000"
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('moto', 'pytest', 'ruff', 'hypothesis') if u.find_spec(m)])"
    )
    assert compose.check("exec", "-T", "receiver", "python", "-c", probe).strip() == "[]"

    # --- one day of notifications, as SINtegre sends them, to the receiver container ------
    url = f"http://127.0.0.1:{compose.ports['receiver']}/sintegre/default"
    started = time.monotonic()
    deliveries = send_all(
        simulator,
        url,
        sample_products(tmp_path / "files", DAY),
        auth="basic",
        user="ons",
        password=WEBHOOK_PASSWORD,
    )
    assert [d.status for d in deliveries] == [200] * len(deliveries), [
        d.summary() for d in deliveries
    ]
    ids = [d.receiver_id for d in deliveries]
    assert len(set(ids)) == len(ids) > 0
    views = wait_final(
        lambda notification_id: _notification(compose, notification_id),
        ids,
        timeout=900,
        interval=2,
        context=lambda: compose.logs(20),
    )
    TIMINGS["first_post_to_all_final_seconds"] = time.monotonic() - started
    assert {v["status"] for v in views} == {"succeeded"}, [
        (v["product"], v["status"], v.get("last_error")) for v in views
    ]
    # The simulator served every file to the workers (the downloads crossed the bridge).
    assert all(simulator.request_count(d.token) >= 1 for d in deliveries)

    # --- the lake reads back from the S3 stand-in, through its published port ------------
    s3_url = f"http://127.0.0.1:{compose.ports['s3']}"
    lake_env = {
        "LAKE_URI": f"s3://{BUCKET}/lake",
        "AWS_ENDPOINT_URL": s3_url,
        "AWS_ACCESS_KEY_ID": LAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": LAKE_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    settings = load_settings(lake_env)
    catalog = catalog_rows(lake_env["LAKE_URI"], settings=settings)
    assert {row["notification_id"] for row in catalog} == set(ids)
    for row in catalog:
        expected = "raw_only" if row["product_id"] in RAW_ONLY_PRODUCT_IDS else "new"
        assert row["outcome"] == expected, row
    filesystem = pafs.S3FileSystem(
        access_key=LAKE_KEY,
        secret_key=LAKE_SECRET,
        region="us-east-1",
        endpoint_override=s3_url,
        scheme="http",
    )
    curated = ds.dataset(f"{BUCKET}/lake/curated", filesystem=filesystem, format="parquet")
    new_rows = sum(row["rows"] for row in catalog if row["outcome"] == "new")
    assert curated.count_rows() == new_rows > 0
    print(
        f"\ncontainers: {len(ids)} notifications landed, {new_rows} curated rows read back "
        f"from the S3 stand-in in {TIMINGS['first_post_to_all_final_seconds']:.1f}s"
    )
