"""Fixtures of the integration tests: the HTTPS simulator, moto's S3 server and the lake.

``lake`` is parametrised over the two backends a deployment can use: a local folder and an
S3 bucket (moto in server mode, reached over HTTP like MinIO or S3). A test that takes it
runs once per backend, with a :class:`helpers.lake.Lake` handle.

Some older modules (``test_pipeline``, ``test_download``, ``test_lakeviews`` ...) still define
their own ``lake`` fixture, a local folder (``Path``), which overrides this one there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.lake import Lake, new_bucket, s3_env
from helpers.postgres import pg_reachable
from sintegre_dev.moto_s3 import moto_server
from sintegre_dev.simulator import SimulatorServer


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorServer]:
    """The HTTPS SINtegre simulator (real TLS, its own CA), one per test module."""
    with SimulatorServer(cert_dir=tmp_path_factory.mktemp("sim-certs")) as server:
        yield server


@pytest.fixture(scope="session")
def pg() -> bool:
    """Whether PostgreSQL at 127.0.0.1:5432 answers (it serialises landings on S3)."""
    return pg_reachable()


@pytest.fixture(scope="session")
def s3_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where moto's server writes its output: one line per request it answered."""
    return tmp_path_factory.mktemp("moto") / "moto.log"


@pytest.fixture(scope="session")
def s3_endpoint(s3_log: Path) -> Iterator[str]:
    """moto's S3 server in its own process, on a free loopback port, for the session."""
    with moto_server(s3_log) as url:
        yield url


@pytest.fixture(params=["local", "s3"])
def lake(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg: bool
) -> Lake:
    """A fresh, empty lake on local disk or in a fresh moto bucket (``lake.kind``).

    Tests run from an empty folder (``tmp_path``): a bug that took ``s3://...`` for a local
    path would create an ``s3:`` folder there, which :meth:`Lake.assert_nothing_local` finds.
    """
    monkeypatch.chdir(tmp_path)
    if request.param == "local":
        env = {"LAKE_URI": str(tmp_path / "lake"), "SINTEGRE_STATE_DIR": str(tmp_path / "state")}
        return Lake("local", env, tmp_path)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = new_bucket(endpoint)
    return Lake("s3", s3_env(endpoint, bucket, tmp_path, pg=pg), tmp_path, endpoint, bucket)
