"""docker-compose.yaml (the production shape), validated offline: no Docker engine runs here.

The compose JSON schema (check-jsonschema's vendored copy), the variables each kind of
service needs, the paths it mounts and copies, health checks and pinned images.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from sintegre.core.settings import env_names, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"

#: The Airflow components, as in the official compose file.
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}
#: Services that run the project's code: the workers (DAG tasks), the receiver, the forwarder
#: (the scheduler and dag-processor only parse DAGs, which reads the settings but needs none).
CODE_SERVICES = {"airflow-worker", "receiver", "forwarder"}

#: Written by hand from the code: what each process cannot work without.
#: - every Airflow component: the executor, the database, the broker, the two shared secrets;
AIRFLOW_REQUIRED = {
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
}
#: - the code on the S3 lake (storage.py reads the AWS SDK's names) and the inbox on PostgreSQL
#:   (the download task reads the token-bearing URL back from the inbox);
CODE_REQUIRED = {
    "LAKE_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "SINTEGRE_INBOX_URL",
    "PYTHONPATH",
}
#: - the receiver: its webhook secret and the operators' API password (no `make run` here to
#:   generate one); the forwarder: Airflow's API and its credentials.
SERVICE_REQUIRED = {
    "receiver": {"SINTEGRE_WEBHOOK_AUTH", "SINTEGRE_WEBHOOK_PASSWORD", "SINTEGRE_ADMIN_PASSWORD"},
    "forwarder": {"AIRFLOW_URL", "AIRFLOW_USER", "AIRFLOW_PASSWORD"},
}
#: What the operator must put in .env (``${NAME:?...}`` in the file): secrets only.
OPERATOR_REQUIRED = {
    "POSTGRES_PASSWORD",
    "SINTEGRE_INBOX_DB_PASSWORD",
    "LAKE_SECRET_ACCESS_KEY",
    "AIRFLOW_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "SINTEGRE_WEBHOOK_PASSWORD",
    "SINTEGRE_ADMIN_PASSWORD",
}
#: A filled-in .env for the interpolation below (made-up values).
DOTENV = {name: f"{name.lower()}-value" for name in OPERATOR_REQUIRED}

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``; ``$$`` is ``$``."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        present = dotenv.get(name)
        if operator and operator.endswith("-"):
            return present if present else argument
        if operator and operator.endswith("?"):
            if not present:
                raise KeyError(f"{name}: {argument}")
            return present
        return present or ""

    parts = value.split("$$")
    return "$".join(_VARIABLE.sub(replace, part) for part in parts)


def _resolve(node: Any, dotenv: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, dotenv)
    if isinstance(node, list):
        return [_resolve(item, dotenv) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(item, dotenv) for key, item in node.items()}
    return node


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as YAML gives it (anchors and merge keys resolved, variables not)."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The file as ``docker compose config`` would see it with a filled-in .env."""
    return _resolve(raw, DOTENV)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def test_the_file_validates_against_the_compose_schema(raw):
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(raw)]
    assert errors == []
    for name in ("docker-compose.yaml", "docker-compose.embedded.yaml"):
        # The same check through check-jsonschema itself (its own YAML loader).
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.compose-spec",
                str(ROOT / name),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_shape_is_airflows_own_plus_ours(compose):
    services = set(compose["services"])
    assert services == AIRFLOW_SERVICES | {
        "postgres",
        "redis",
        "object-store",
        "create-bucket",
        "receiver",
        "forwarder",
    }
    worker = compose["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert worker["deploy"]["replicas"] >= 2
    receiver = compose["services"]["receiver"]
    assert receiver["command"][:3] == ["python", "-m", "gunicorn"]
    assert receiver["command"][-1] == "sintegre.intake.receiver.wsgi:app"
    assert compose["services"]["forwarder"]["command"] == [
        "python",
        "-m",
        "sintegre.cli.forwarder",
    ]


def test_every_service_has_a_health_check(compose):
    missing = [
        name
        for name, service in compose["services"].items()
        if not service.get("healthcheck", {}).get("test")
        or service["healthcheck"].get("disable")
        or service["healthcheck"]["test"] == ["NONE"]
    ]
    assert missing == []
    receiver_check = " ".join(compose["services"]["receiver"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in receiver_check


def test_images_are_pinned(compose):
    images = {name: service.get("image", "") for name, service in compose["services"].items()}
    assert all(images.values()), images
    for name, image in images.items():
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and "/" not in tag, (name, image)
    assert images["postgres"] == "postgres:16"
    assert images["redis"] == "redis:7.2-bookworm"
    # MinIO publishes dated releases: a RELEASE tag is one exact build.
    assert re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", images["object-store"])
    assert re.fullmatch(r"minio/mc:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", images["create-bucket"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert base == "apache/airflow:3.3.2-python3.11"
    pinned = (ROOT / "requirements.txt").read_text().splitlines()
    assert "apache-airflow==3.3.2" in pinned  # the image and the requirements agree


def test_the_same_secrets_and_executor_in_every_airflow_component(compose):
    environments = {name: _environment(compose["services"][name]) for name in AIRFLOW_SERVICES}
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        values = {env.get(key) for env in environments.values()}
        assert len(values) == 1 and None not in values and "" not in values, key
    assert {env["AIRFLOW__CORE__EXECUTOR"] for env in environments.values()} == {"CeleryExecutor"}
    worker = environments["airflow-worker"]
    assert worker["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"] == "1"
    assert worker["DUMB_INIT_SETSID"] == "0"  # warm shutdown of Celery


def test_every_required_variable_is_set_where_the_code_runs(compose):
    problems = []
    for name, service in compose["services"].items():
        env = _environment(service)
        needed = set()
        if name in AIRFLOW_SERVICES:
            needed |= AIRFLOW_REQUIRED
        if name in CODE_SERVICES:
            needed |= CODE_REQUIRED | SERVICE_REQUIRED.get(name, set())
        problems += [(name, key) for key in sorted(needed) if not env.get(key)]
    assert problems == []


def test_the_code_reads_its_settings_from_these_values(compose):
    """Each code service's environment, read by the real settings loader, points at services."""
    services = set(compose["services"])
    for name in CODE_SERVICES:
        env = _environment(compose["services"][name])
        settings = load_settings(env)
        assert settings.lake_uri == "s3://sintegre-lake/lake", name
        inbox = urlsplit(settings.inbox_url)
        assert inbox.scheme == "postgresql+psycopg" and inbox.hostname in services, name
        assert urlsplit(settings.airflow_url).hostname == "airflow-apiserver", name
        assert urlsplit(env["AWS_ENDPOINT_URL"]).hostname == "object-store", name
        assert env["PYTHONPATH"] == "/opt/airflow/include"
    receiver = load_settings(_environment(compose["services"]["receiver"]))
    assert receiver.webhook_auth == "basic" and receiver.admin_password
    worker = _environment(compose["services"]["airflow-worker"])
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        # psycopg (3) is the driver in requirements.txt; psycopg2 is not installed.
        assert "postgresql+psycopg://" in worker[key] and "@postgres:5432/" in worker[key]
    assert worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"].startswith(
        "postgresql+psycopg_async://"
    )
    assert urlsplit(worker["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    execution = urlsplit(worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (execution.hostname, execution.port, execution.path) == (
        "airflow-apiserver",
        8080,
        "/execution/",
    )


def test_project_variables_in_the_file_are_ones_the_code_reads(raw):
    """No typo: every project variable the file sets is one settings.py (or Airflow) reads."""
    read = env_names()  # the Settings model's aliases
    set_here: set[str] = set()
    for name in CODE_SERVICES | AIRFLOW_SERVICES:  # the others' variables feed their scripts
        set_here |= set(_environment(raw["services"][name]))
    ours = {
        key
        for key in set_here
        if re.match(r"(SINTEGRE_|LAKE_|RECEIVER_|FORWARDER_|AIRFLOW_(?!_)|AWS_)", key)
        and key not in {"AIRFLOW_UID"}  # airflow-init's chown target, read by its script
    }
    assert sorted(ours - read) == []


def test_operator_secrets_are_required_and_nothing_else(raw):
    required = set(re.findall(r"\$\{([A-Za-z0-9_]+):\?", COMPOSE.read_text()))
    assert required == OPERATOR_REQUIRED
    with pytest.raises(KeyError, match="AIRFLOW_FERNET_KEY"):
        _resolve(raw, {k: v for k, v in DOTENV.items() if k != "AIRFLOW_FERNET_KEY"})


def test_every_mounted_copied_and_called_path_exists(raw):
    missing = []
    for name, service in raw["services"].items():
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            bind = volume.get("type") == "bind" if isinstance(volume, dict) else None
            if bind or source.startswith((".", "/")):
                if not (ROOT / source).exists():
                    missing.append((name, source))
            else:
                assert source in raw["volumes"], (name, source)  # a named volume, declared
        build = service.get("build")
        if build:
            context = ROOT / (build if isinstance(build, str) else build["context"])
            dockerfile = context / (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            if not dockerfile.is_file():
                missing.append((name, str(dockerfile)))
    # COPY sources of the image, and scripts the services call inside it (COPY docker/).
    for source in re.findall(r"^COPY (?:--\S+ )*(\S+) ", (ROOT / "Dockerfile").read_text(), re.M):
        if not (ROOT / source).exists():
            missing.append(("Dockerfile", source))
    for script in set(re.findall(r"/opt/airflow/docker/([\w.-]+)", COMPOSE.read_text())):
        if not (ROOT / "docker" / script).is_file():
            missing.append(("docker/", script))
    assert missing == []


def test_init_scripts_are_shell_scripts_that_parse():
    for script in ("postgres-init.sh", "airflow-init.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "docker" / script)], check=True)
    subprocess.run(["sh", "-n", str(ROOT / "docker/create-bucket.sh")], check=True)
    compile((ROOT / "docker/forwarder_healthcheck.py").read_text(), "forwarder_healthcheck", "exec")
