"""Drive the ingestion in-process: publish on the simulator, derive the conf, run the steps.

The defaults are the Carga DESSEM delivery of 1 March 2024 (product 230) most pipeline,
download and lake tests use; every one can be overridden.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sintegre.core.settings import Settings
from sintegre.ingest.pipeline import download_step, land_step, parse_step
from sintegre.intake.notification import normalize
from sintegre_dev.simulator import Publication, SimulatorServer, build_notification

MACRO = "Programação da Operação"
MACRO_SLUG = "programacao_da_operacao"
PROCESSO = "Previsão de Carga para o DESSEM"
DAY = date(2024, 3, 1)
ALLOWED_HOSTS = ("localhost",)
CSV_BYTES = (
    "Data;Patamar;Submercado;Carga (MWmed)\r\n"
    "01/03/2024;1;Sudeste/Centro-Oeste;38.456,78\r\n"
    "01/03/2024;1;Sul;12.345,67\r\n"
).encode("latin-1")
"""A small ONS-style CSV (latin-1, ``;``, decimal comma) of Carga DESSEM on :data:`DAY`."""

_NBF_BASE = int(time.time()) - 600
_newer = itertools.count()
_older = itertools.count(1)


def newer_nbf() -> int:
    """A distinct past ``nbf``, later than every one before: a later publication is newer.

    Starts 10 minutes before the session; stays in the past for the first 600 calls plus one
    per second of the session.
    """
    return _NBF_BASE + next(_newer)


def past_nbf() -> int:
    """A distinct past ``nbf``, earlier than every one before (never in the future)."""
    return _NBF_BASE - next(_older)


def publish(
    sim: SimulatorServer,
    content: bytes | Path = CSV_BYTES,
    *,
    file_name: str = "Carga_DESSEM_01-03-2024.csv",
    nome: str = "Carga DESSEM",
    product_id: int = 230,
    **kwargs: Any,
) -> Publication:
    """Publish ``content`` on the simulator behind a fresh token (``nbf``: :func:`newer_nbf`).

    Identical claims would mint the same token, so each publication gets its own ``nbf``;
    ``kwargs`` go to :meth:`SimulatorServer.publish` (``nbf``, ``lifetime``, faults ...).
    """
    kwargs.setdefault("nbf", newer_nbf())
    return sim.publish(content, file_name=file_name, product_id=product_id, nome=nome, **kwargs)


def conf_for(pub: Publication, day: date = DAY, *, now: float | None = None) -> dict[str, Any]:
    """The DAG run conf the receiver derives from the notification SINtegre would send.

    A daily Carga DESSEM notification for ``day``; ``now`` is the receiver's clock (None: the
    real one), to accept a token that has expired since.
    """
    payload = build_notification(
        pub,
        processo=PROCESSO,
        macro_processo=MACRO,
        data_produto=day.strftime("%d/%m/%Y"),
        periodicidade=datetime(day.year, day.month, day.day),
        periodicidade_final=datetime(day.year, day.month, day.day, 23, 59, 59),
    )
    return normalize(json.dumps(payload).encode(), allowed_hosts=ALLOWED_HOSTS, now=now).to_conf()


def run_pipeline(
    conf: dict[str, Any], run_id: str, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The DAG's three tasks in-process: ``(downloaded, parsed, landed)``."""
    downloaded = download_step(conf, settings)
    parsed = parse_step(downloaded, run_id, settings)
    landed = land_step(parsed, downloaded, conf, run_id, settings)
    return downloaded, parsed, landed


def outcomes(landed: dict[str, Any]) -> list[tuple[str, int, str, bool]]:
    """``(dataset, rows, outcome, changed)`` per dataset of a landing's result."""
    return [(d["dataset"], d["rows"], d["outcome"], d["changed"]) for d in landed["datasets"]]
