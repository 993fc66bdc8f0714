"""Run code in a child process that gevent patched first, as gunicorn's gevent worker does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_patched(code: str, **env: str) -> Any:
    """Run ``code`` (dedented) after ``gevent.monkey.patch_all()`` in a child process.

    The child sees ``include/``, the repository and ``tests/`` on its path, and ``env`` on top
    of this environment; it must print one JSON value as its last line, which is returned.
    """
    script = "from gevent import monkey\nmonkey.patch_all()\n" + textwrap.dedent(code)
    path = os.pathsep.join(str(p) for p in (ROOT / "include", ROOT, ROOT / "tests"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
