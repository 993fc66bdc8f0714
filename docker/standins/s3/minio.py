"""STAND-IN for the ``minio`` server command (docker/standins/build.sh; not MinIO).

``minio server DIR [--address ADDR] [--console-address ADDR]`` serves moto's S3 API on
``--address`` (``:9000`` by default) and, on ``--console-address``, a one-page notice that this
is a stand-in (MinIO's console does not exist here). Objects live in memory: ``DIR`` is created
so a mounted volume looks used, but nothing is written to it. Credentials are not checked.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from moto.server import ThreadedMotoServer

NOTICE = (
    b"<!doctype html><title>S3 stand-in</title><p>This is the CI stand-in for MinIO: "
    b"moto's S3 server on the S3 port, no console. See docker/standins/README.md.</p>\n"
)


def _split(address: str, default_port: int) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "0.0.0.0"), int(port or default_port)


class _Console(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(NOTICE)))
        self.end_headers()
        self.wfile.write(NOTICE)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "server":
        print(
            f"minio stand-in: only `minio server DIR ...` is supported, not {argv!r}",
            file=sys.stderr,
        )
        return 2
    parser = argparse.ArgumentParser(prog="minio server")
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--address", default=":9000")
    parser.add_argument("--console-address", default=":9001")
    args = parser.parse_args(argv[1:])
    for directory in args.dirs:
        Path(directory).mkdir(parents=True, exist_ok=True)

    host, port = _split(args.address, 9000)
    s3 = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    s3.start()
    console = ThreadingHTTPServer(_split(args.console_address, 9001), _Console)
    threading.Thread(target=console.serve_forever, daemon=True).start()
    print(
        f"S3 stand-in (moto) on {host}:{port}, console notice on {args.console_address}", flush=True
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    console.shutdown()
    s3.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
