"""The production shape as real processes on this machine (what docker-compose.yaml runs).

Airflow's api-server, scheduler, dag-processor and two Celery workers on PostgreSQL and Redis,
the gunicorn receiver with its inbox on PostgreSQL, the forwarder, and an S3 endpoint (moto's
server mode) for the lake. Every database is created fresh and dropped afterwards; Redis gets a
database number nobody uses, flushed before and after.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from stack import AIRFLOW, PY, Stack, stack_env
from worker_name import WORKER_NAME_ENV

from helpers.processes import free_port, port_open, wait_until
from sintegre.core.settings import load_settings
from sintegre_dev.devstack import airflow_environment, stop_process_group

# Where the servers are: .ci/run starts them there; a developer may point elsewhere.
PG_HOST = os.environ.get("SINTEGRE_E2E_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SINTEGRE_E2E_PG_PORT", "5432"))
PG_USER = os.environ.get("SINTEGRE_E2E_PG_USER", "postgres")
PG_ADMIN_DSN = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
REDIS_HOST = os.environ.get("SINTEGRE_E2E_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("SINTEGRE_E2E_REDIS_PORT", "6379"))
#: Redis databases this test may take (the others are left to whoever else uses the server).
REDIS_DBS = range(8, 16)
#: moto accepts any credentials; these only have to be the same everywhere.
S3_KEY, S3_SECRET, S3_REGION = "sintegre-e2e", "sintegre-e2e-secret", "us-east-1"
#: The two Celery workers: the name each one reports as the task instances' hostname.
WORKER_NAMES = ("worker-a", "worker-b")


def unreachable() -> str | None:
    """Why PostgreSQL or Redis cannot be used here, or None when both answer."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            pass
    except Exception as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} is not reachable: {str(exc).strip()[:200]}"
    try:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} is not reachable: {str(exc).strip()[:200]}"
    return None


def create_database(prefix: str) -> str:
    """A new, empty PostgreSQL database named ``<prefix>_<random>``."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database`, closing leftover connections."""
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def claim_redis_db() -> int:
    """An empty Redis database number in :data:`REDIS_DBS`, marked as taken by this run."""
    import redis

    for number in REDIS_DBS:
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
        # SET NX on a marker key: two test sessions never pick the same number.
        if client.dbsize() == 0 and client.set("sintegre-e2e-owner", os.getpid(), nx=True):
            return number
    raise RuntimeError(f"no empty Redis database among {list(REDIS_DBS)}")


def release_redis_db(number: int) -> None:
    """Empty the database claimed by :func:`claim_redis_db`."""
    import redis

    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number).flushdb()


def pg_url(database: str, driver: str = "postgresql+psycopg") -> str:
    """SQLAlchemy URL of ``database`` (psycopg 3, the driver in requirements.txt)."""
    return f"{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@dataclass
class S3Endpoint:
    """moto's S3 server in its own process, with one bucket."""

    process: subprocess.Popen
    url: str
    bucket: str

    @classmethod
    def start(cls, log_path: Path, bucket: str) -> S3Endpoint:
        port = free_port()
        handle = open(log_path, "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        wait_until(
            lambda: port_open(port),
            timeout=60,
            what=f"moto server (see {log_path})",
            alive=lambda: process.poll() is None,
        )
        endpoint = cls(process, f"http://127.0.0.1:{port}", bucket)
        endpoint.client().create_bucket(Bucket=bucket)
        return endpoint

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )

    def env(self) -> dict[str, str]:
        """The variables every process that touches the lake gets (as in the compose file)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_DEFAULT_REGION": S3_REGION,
        }

    def stop(self) -> None:
        stop_process_group(self.process, grace=5)


@dataclass
class ProductionStack(Stack):
    """The production shape: api-server, scheduler, dag-processor, Celery workers, receiver,
    forwarder (processes named so in :attr:`processes` and ``logs/``)."""

    STOP_GRACE: ClassVar[float | None] = 15

    def task_errors(self, limit: int = 10) -> list[str]:
        """The exceptions of failed task attempts, from Airflow's task logs (for messages)."""
        errors = []
        for path in sorted((self.tmp / "airflow" / "logs").rglob("attempt=*.log")):
            text = path.read_text(errors="replace")
            for match in re.finditer(r'"exc_type":"([^"]*)","exc_value":"((?:[^"\\]|\\.)*)"', text):
                errors.append(f"{path.parent.name}: {match[1]}: {match[2][:300]}")
        return errors[:limit]

    def trigger_times(self) -> list[float]:
        """When the forwarder triggered each run (epoch seconds, from its JSON log lines)."""
        times = []
        for line in self.log("forwarder").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if str(record.get("msg", "")).startswith("triggered notification"):
                times.append(datetime.fromisoformat(record["ts"]).timestamp())
        return sorted(times)

    def workload_seconds(self) -> dict[str, list[float]]:
        """Each worker's task durations, as its supervisor logged them."""
        pattern = re.compile(r"Workload finished\s.*?duration=([\d.]+)")
        return {
            name: [float(m[1]) for m in pattern.finditer(self.log(name))] for name in WORKER_NAMES
        }

    def migrate(self) -> float:
        """``airflow db migrate`` on the fresh PostgreSQL database; returns its seconds."""
        started = time.monotonic()
        with open(self.log_dir / "db-migrate.log", "ab") as handle:
            subprocess.run(
                [AIRFLOW, "db", "migrate"],
                env=self.airflow_env,
                cwd=self.root,
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=600,
            )
        return time.monotonic() - started

    def start_airflow(self, workers: int = 2) -> None:
        """api-server, scheduler, dag-processor and ``workers`` Celery workers."""
        self.spawn(
            "api-server",
            [AIRFLOW, "api-server", "--port", str(self.airflow_port), "--workers", "1"],
            self.airflow_env,
        )
        self.spawn("scheduler", [AIRFLOW, "scheduler"], self.airflow_env)
        self.spawn("dag-processor", [AIRFLOW, "dag-processor"], self.airflow_env)
        for name in WORKER_NAMES[:workers]:
            self.start_worker(name)
        self.wait_for_airflow("api-server", timeout=300)
        self.wait_for_dag("sintegre_generic")
        for name in WORKER_NAMES[:workers]:
            self.wait_for_worker(name)

    def start_worker(self, name: str) -> None:
        """One ``airflow celery worker``: concurrency 1, its own log-server port and name."""
        env = dict(self.airflow_env)
        env.update(
            {
                WORKER_NAME_ENV: name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_name.worker_hostname",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                # tests/e2e on the path: the hostname callable lives in worker_name.py there.
                "PYTHONPATH": os.pathsep.join(
                    [str(Path(__file__).parent), env.get("PYTHONPATH", "")]
                ),
            }
        )
        self.spawn(
            name,
            [
                AIRFLOW,
                "celery",
                "worker",
                "--concurrency",
                "1",
                "--celery-hostname",
                f"{name}@%h",
                "--pid",
                str(self.tmp / f"{name}.pid"),
            ],
            env,
        )

    def wait_for_worker(self, name: str, timeout: float = 180) -> None:
        """Until Celery worker ``name`` logs that it is ready."""
        process = self.processes[name]
        wait_until(
            lambda: re.search(rf"{re.escape(name)}@\S+ ready", self.log(name)) is not None,
            timeout=timeout,
            interval=0.5,
            what=f"Celery worker {name} (see {self.log_dir}/{name}.log)",
            alive=lambda: process.poll() is None,
        )


def build_production_stack(
    tmp: Path,
    ca_path: Path,
    *,
    airflow_db: str,
    inbox_db: str,
    redis_db: int,
    lake_uri: str,
    extra_env: dict[str, str],
    webhook_password: str,
    admin_password: str,
) -> ProductionStack:
    """Prepare (not start) the production shape under ``tmp``, trusting the simulator's CA."""
    from cryptography.fernet import Fernet

    log_dir = tmp / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    receiver_port, airflow_port = free_port(), free_port()
    airflow_password = secrets.token_urlsafe(12)
    env = stack_env(
        tmp,
        ca_path,
        receiver_port=receiver_port,
        airflow_port=airflow_port,
        airflow_password=airflow_password,
        webhook_password=webhook_password,
        admin_password=admin_password,
        lake_uri=lake_uri,
        SINTEGRE_INBOX_URL=pg_url(inbox_db),
        **extra_env,
    )
    settings = load_settings(env)
    airflow_env = airflow_environment(
        settings, airflow_home=tmp / "airflow", password=airflow_password, base=env, fast=True
    )
    airflow_sql = pg_url(airflow_db)
    airflow_env.update(
        {
            # The same settings as x-airflow-common in docker-compose.yaml.
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_sql,
            # Airflow derives asyncpg for the async engine; psycopg 3 does async itself.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": pg_url(
                airflow_db, "postgresql+psycopg_async"
            ),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
            # Celery's database backend takes "db+" and any SQLAlchemy URL: psycopg 3 too.
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{airflow_sql}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            # One secret for every component: the scheduler signs task tokens the api-server
            # (execution API) must accept.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    return ProductionStack(
        tmp=tmp,
        env=env,
        airflow_env=airflow_env,
        receiver_port=receiver_port,
        airflow_port=airflow_port,
        log_dir=log_dir,
    )


def worker_task_counts(stack: ProductionStack) -> dict[str, int]:
    """Tasks each Celery worker says it received (its own log: independent of Airflow's DB)."""
    return {
        name: len(re.findall(r"Task \S*execute_workload\S* received", stack.log(name)))
        for name in WORKER_NAMES
        if name in stack.processes or (stack.log_dir / f"{name}.log").exists()
    }


__all__ = [
    "ProductionStack",
    "S3Endpoint",
    "build_production_stack",
    "claim_redis_db",
    "create_database",
    "drop_database",
    "release_redis_db",
    "unreachable",
]
