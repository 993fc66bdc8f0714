"""Pages in a real headless Chromium (Debian's package, no download), served on a real port."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

#: Where screenshots go (kept: the README and docs link them).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed: `apt-get install -y chromium` (Debian) runs this test",
)
"""Skip a test (or, as ``pytestmark``, a module) where no Chromium is installed."""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args`` (``--dump-dom URL``, ``--screenshot=...``)."""
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def serve(app_or_handler: Any, *, wsgi: bool = True) -> Any:
    """Serve a WSGI app (or, ``wsgi=False``, an ``http.server`` handler class) on a free
    loopback port in a daemon thread; ``server.server_port``, ``server.shutdown()``."""
    if wsgi:
        server = make_server("127.0.0.1", 0, app_or_handler, threaded=True)
    else:
        from http.server import HTTPServer

        server = HTTPServer(("127.0.0.1", 0), app_or_handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
