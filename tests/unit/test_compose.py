"""docker-compose.embedded.yaml cannot run here (no Docker engine): check what can be checked.

The production shape (docker-compose.yaml) has its own checks: test_compose_production.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from sintegre.core.settings import env_names

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_compose_file_is_valid_and_points_at_real_things():
    compose = yaml.safe_load((ROOT / "docker-compose.embedded.yaml").read_text())
    service = compose["services"]["sintegre"]
    dockerfile_path = ROOT / service["build"]["context"] / service["build"]["dockerfile"]
    assert dockerfile_path == ROOT / "docker/embedded.Dockerfile"
    module = service["command"][-1]
    assert importlib.util.find_spec(module) is not None
    assert set(compose["volumes"]) == {"sintegre-state", "sintegre-lake"}
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    dockerfile = dockerfile_path.read_text()
    for copied in ("requirements.txt", "include/", "dags/", "plugins/"):
        assert f"COPY {copied}" in dockerfile
        assert (ROOT / copied.rstrip("/")).exists()


def test_env_example_lists_every_setting():
    read = env_names()  # the Settings model's aliases
    assert len(read) > 40
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert read - example == set()
    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(read) if f"`{name}`" not in readme] == []
