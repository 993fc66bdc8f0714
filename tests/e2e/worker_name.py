"""Airflow's ``[core] hostname_callable`` for the production shape's Celery workers.

Imported by the workers themselves (``tests/e2e`` is put on their ``PYTHONPATH``), so it
imports nothing but the standard library: the test helpers are not on their path.
"""

from __future__ import annotations

import os
import socket

#: The variable each worker is started with: the name it reports.
WORKER_NAME_ENV = "SINTEGRE_E2E_WORKER_NAME"


def worker_hostname() -> str:
    """The worker's name as its task instances' hostname.

    In containers every worker has its own hostname; two workers on one machine share it, so
    each is told its name through the environment and reports it on its task instances.
    """
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()
