"""Small CLI: ``serve`` a directory of files behind the fake proxy, ``send`` a notification.

Examples::

    python -m sintegre.simulator serve --port 8443 --cert-dir /tmp/sim --files ./samples \\
        --payload-dir /tmp/sim/payloads
    python -m sintegre.simulator send https://localhost:8080/webhook --auth basic \\
        --user ons --password s3cr3t --file /tmp/sim/payloads/01_ACOMPH_29.04.2025.xls.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType

import requests

from sintegre.simulator.sender import AUTH_MODES, build_notification, send_notification
from sintegre.simulator.server import BRASILIA, DISPOSITIONS, Publication, SimulatorServer
from sintegre.simulator.tokens import TOKEN_LIFETIME_SECONDS

PASSWORD_ENV = "SINTEGRE_WEBHOOK_PASSWORD"
TOKEN_ENV = "SINTEGRE_WEBHOOK_TOKEN"


def _redacted(url: str) -> str:
    """The webhook URL with its token hidden: the token alone grants the download."""
    return url.split("?token=", 1)[0] + "?token=REDACTED"


def _publish_directory(
    sim: SimulatorServer, files: Path, args: argparse.Namespace
) -> list[Publication]:
    """Publish each file in ``files`` (subdirectories become folder products)."""
    publications = []
    for path in sorted(files.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            pub = sim.publish(
                path,
                file_name=f"{path.name}.zip",
                product_id=args.product_id,
                nome=path.name,
                is_file=False,
                lifetime=args.lifetime,
                disposition=args.disposition,
            )
        elif path.is_file():
            pub = sim.publish(
                path,
                file_name=path.name,
                product_id=args.product_id,
                nome=path.stem,
                lifetime=args.lifetime,
                disposition=args.disposition,
            )
        else:
            continue
        publications.append(pub)
    return publications


def _write_payload(pub: Publication, index: int, payload_dir: Path) -> Path:
    """Write a ready-to-send notification for ``pub`` (today's daily product)."""
    today = datetime.now(BRASILIA).replace(tzinfo=None)
    payload = build_notification(
        pub,
        processo="Simulador SINtegre",
        macro_processo="Simulador SINtegre",
        data_produto=today.strftime("%d/%m/%Y"),
        periodicidade=today.replace(hour=0, minute=0, second=0, microsecond=0),
        periodicidade_final=today.replace(hour=23, minute=59, second=59, microsecond=0),
    )
    target = payload_dir / f"{index:02d}_{pub.file_name}.json"
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return target


def _serve(args: argparse.Namespace) -> int:
    files = Path(args.files)
    if not files.is_dir():
        print(f"--files {files} is not a directory", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    cert_dir = Path(args.cert_dir) if args.cert_dir else None
    with SimulatorServer(host=args.host, port=args.port, cert_dir=cert_dir) as sim:
        print(f"CA certificate: {sim.ca_path}", flush=True)
        payload_dir = Path(args.payload_dir) if args.payload_dir else None
        if payload_dir is not None:
            payload_dir.mkdir(parents=True, exist_ok=True)
        for index, pub in enumerate(_publish_directory(sim, files, args), start=1):
            shown = pub.url if args.show_urls else _redacted(pub.url)
            line = f"published {pub.file_name} -> {shown}"
            if payload_dir is not None:
                line += f" (payload {_write_payload(pub, index, payload_dir)})"
            print(line, flush=True)
        print(f"serving {sim.base_url} (Ctrl-C to stop)", flush=True)
        # Short waits so the main thread keeps noticing signals promptly.
        while not stop.wait(0.5):
            pass
    print("stopped", flush=True)
    return 0


def _send(args: argparse.Namespace) -> int:
    body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    verify: bool | str = False if args.insecure else (args.ca or True)
    try:
        response = send_notification(
            args.webhook_url,
            body,
            auth=args.auth,
            user=args.user,
            password=args.password or os.environ.get(PASSWORD_ENV),
            token=args.token or os.environ.get(TOKEN_ENV),
            timeout=args.timeout,
            verify=verify,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"HTTP {response.status_code} {response.reason}")
    if response.text:
        print(response.text[:500])
    return 0 if response.ok else 1


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for tests and ``--help``).

    Returns:
        The parser with ``serve`` and ``send`` subcommands.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sintegre.simulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every request (tokens redacted)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve files behind a fake ONS.Sintegre.Proxy over HTTPS")
    serve.add_argument("--host", default="localhost")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument(
        "--cert-dir", help="where to write the CA PEM (temporary directory if omitted)"
    )
    serve.add_argument(
        "--files",
        required=True,
        help="directory whose files (and subfolders, zipped) are published",
    )
    serve.add_argument("--product-id", type=int, default=230)
    serve.add_argument(
        "--lifetime", type=int, default=TOKEN_LIFETIME_SECONDS, help="token lifetime in seconds"
    )
    serve.add_argument("--disposition", choices=DISPOSITIONS, default="rfc5987")
    serve.add_argument(
        "--payload-dir", help="also write one notification JSON per file here (contains the URLs)"
    )
    serve.add_argument(
        "--show-urls", action="store_true", help="print URLs with their tokens (secrets!)"
    )
    serve.set_defaults(func=_serve)

    send = sub.add_parser("send", help="POST a notification JSON to a webhook")
    send.add_argument("webhook_url")
    send.add_argument("--auth", choices=AUTH_MODES, default="none")
    send.add_argument("--user")
    send.add_argument("--password", help=f"Basic-auth password (or env {PASSWORD_ENV})")
    send.add_argument("--token", help=f"raw Authorization header value (or env {TOKEN_ENV})")
    send.add_argument(
        "--file", required=True, help="payload file sent byte for byte; '-' for stdin"
    )
    send.add_argument("--ca", help="CA bundle for an HTTPS webhook")
    send.add_argument("--insecure", action="store_true", help="skip TLS verification")
    send.add_argument("--timeout", type=float, default=10.0)
    send.set_defaults(func=_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        Process exit code.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    return int(args.func(args))
