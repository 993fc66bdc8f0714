"""An S3 stand-in for tests and benchmarks: moto's server in its own process, over HTTP.

The lake reaches it the way it would reach MinIO or S3 (``SINTEGRE_S3_ENDPOINT_URL``), so the
S3 code paths run for real. moto is a development dependency (``requirements-dev.txt``); it
is started as ``python -m moto.server``, never imported here.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["moto_server"]


@contextlib.contextmanager
def moto_server(log_path: Path | None = None, *, timeout: float = 60) -> Iterator[str]:
    """Run moto's S3 server on a free loopback port for the duration of the block.

    Args:
        log_path: Where the server's output goes; None to discard it.
        timeout: Seconds to wait for the server to accept connections.

    Yields:
        The server's URL, ``http://127.0.0.1:<port>``.

    Raises:
        RuntimeError: The server exited or did not listen within ``timeout`` seconds.
    """
    port = _free_port()
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log_path.open("wb")) if log_path else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        )
        see = "" if log_path is None else f" (see {log_path})"
        try:
            _wait_listening(process, port, timeout, see)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(process: subprocess.Popen[bytes], port: int, timeout: float, see: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"moto server: the process exited{see}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"moto server: not ready after {timeout:.0f} s{see}")
        time.sleep(0.2)
