"""Gunicorn config for the benchmark only: each worker says when it finished booting.

Workers import the app after the fork; on a busy 2-core machine that takes seconds, and a
measurement that starts before every worker is up measures the boot, not the server.
"""

import os
from pathlib import Path


def post_worker_init(worker) -> None:
    """Touch ``$BENCH_READY_DIR/<pid>`` once the worker can serve."""
    folder = os.environ.get("BENCH_READY_DIR")
    if folder:
        Path(folder, str(os.getpid())).touch()
