"""SINtegre stand-in CLI: serve files, send notifications, press SINtegre's buttons.

``serve`` a directory of files behind the fake proxy, ``send`` one notification file, and
SINtegre's integration buttons on sample products (:mod:`sintegre_dev.simulator.samples`):
``publish-and-send`` (Enviar), ``send-all`` (Enviar Tudo), ``resend-pending`` (Reenviar
Pendentes) and ``details`` (Exibir Detalhes). The sending buttons start the HTTPS file
server in-process (its CA kept in ``--cert-dir`` and reused on the next run), record each
delivery in ``--state`` and keep serving for ``--linger`` seconds, or until Ctrl-C with
``--serve``, so the pipeline can download. Lines printed name the product, the status and
the notification id, never a URL or token.

Examples::

    python -m sintegre_dev.simulator serve --port 8443 --cert-dir /tmp/sim --files ./samples \\
        --payload-dir /tmp/sim/payloads
    python -m sintegre_dev.simulator send https://localhost:8080/webhook --auth basic \\
        --user ons --password s3cr3t --file /tmp/sim/payloads/01_ACOMPH_29.04.2025.xls.json
    SINTEGRE_WEBHOOK_PASSWORD=s3cr3t python -m sintegre_dev.simulator send-all \\
        http://127.0.0.1:8000/sintegre/default --auth basic --user ons --serve
    python -m sintegre_dev.simulator resend-pending http://127.0.0.1:8000/sintegre/default
    python -m sintegre_dev.simulator details
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from sintegre_dev.simulator.buttons import (
    DEFAULT_STATE_PATH,
    Delivery,
    DeliveryState,
    details,
    format_details,
    publish_and_send,
    resend_pending,
    send_all,
)
from sintegre_dev.simulator.samples import SAMPLE_PRODUCT_IDS, sample_products
from sintegre_dev.simulator.sender import AUTH_MODES, build_notification, send_notification
from sintegre_dev.simulator.server import BRASILIA, DISPOSITIONS, Publication, SimulatorServer
from sintegre_dev.simulator.tokens import TOKEN_LIFETIME_SECONDS

PASSWORD_ENV = "SINTEGRE_WEBHOOK_PASSWORD"
TOKEN_ENV = "SINTEGRE_WEBHOOK_TOKEN"
DEFAULT_CERT_DIR = Path(".state/simulator/certs")
DEFAULT_WORKDIR = Path(".state/simulator/files")
DEFAULT_PORT = 8443
DEFAULT_LINGER_SECONDS = 600.0


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


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (Ctrl-C), for a clean shutdown with exit 0.

    The previous handlers come back on exit (``main`` may run inside another program, a
    test runner for one); outside the main thread no handler can be installed and the
    event is only set by the caller.
    """
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace) -> int:
    files = Path(args.files)
    if not files.is_dir():
        print(f"--files {files} is not a directory", file=sys.stderr)
        return 2
    cert_dir = Path(args.cert_dir) if args.cert_dir else None
    # A CA kept in a named directory is reused, so whoever trusts it keeps trusting it.
    with (
        _stop_on_signals() as stop,
        SimulatorServer(
            host=args.host, port=args.port, cert_dir=cert_dir, reuse_ca=cert_dir is not None
        ) as sim,
    ):
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


def _auth_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The webhook credentials from the flags, falling back to the environment."""
    return {
        "auth": args.auth,
        "user": args.user,
        "password": args.password or os.environ.get(PASSWORD_ENV),
        "token": args.token or os.environ.get(TOKEN_ENV),
    }


def _send_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments shared by the button functions."""
    return {
        **_auth_arguments(args),
        "timeout": args.timeout,
        "verify": False if args.insecure else (args.ca or True),
        "disposition": args.disposition,
    }


def _today_in_brasilia() -> date:
    return datetime.now(BRASILIA).date()


def _linger(sim: SimulatorServer, args: argparse.Namespace, stop: threading.Event) -> None:
    """Keep serving the files: until a signal with ``--serve``, else ``--linger`` seconds."""
    if args.serve:
        print(f"serving {sim.base_url} (CA {sim.ca_path}) until Ctrl-C", flush=True)
        deadline = None
    elif args.linger > 0:
        print(f"serving {sim.base_url} (CA {sim.ca_path}) for {args.linger:g} s", flush=True)
        deadline = time.monotonic() + args.linger
    else:
        return
    # Short waits so the main thread keeps noticing signals promptly.
    while not stop.wait(0.5):
        if deadline is not None and time.monotonic() >= deadline:
            break


def _run_button(
    args: argparse.Namespace,
    press: Callable[[SimulatorServer, DeliveryState, dict[str, Any]], list[Delivery]],
) -> int:
    """Start the file server, press a sending button, print the deliveries, then linger."""
    try:
        state = DeliveryState(Path(args.state))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = _send_options(args)
    sim = SimulatorServer(
        host=args.host, port=args.port, cert_dir=Path(args.cert_dir), reuse_ca=True
    )
    with _stop_on_signals() as stop:
        try:
            sim.start()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            print(f"error: cannot serve on {args.host}:{args.port}: {reason}", file=sys.stderr)
            return 2
        try:
            try:
                deliveries = press(sim, state, options)
            except (ValueError, KeyError, FileNotFoundError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            for delivery in deliveries:
                print(delivery.summary(), flush=True)
            if not deliveries:
                print("nothing to send", flush=True)
            _linger(sim, args, stop)
        finally:
            sim.stop()
    return 0 if all(delivery.ok for delivery in deliveries) else 1


def _publish_and_send(args: argparse.Namespace) -> int:
    if args.product not in SAMPLE_PRODUCT_IDS:
        print(
            f"error: no sample for product {args.product}; choose one of {SAMPLE_PRODUCT_IDS}",
            file=sys.stderr,
        )
        return 2

    def press(
        sim: SimulatorServer, state: DeliveryState, options: dict[str, Any]
    ) -> list[Delivery]:
        [sample] = sample_products(Path(args.workdir), args.day, product_ids=(args.product,))
        return [
            publish_and_send(
                sim,
                args.webhook_url,
                sample,
                state=state,
                pascal_case=args.pascal_case,
                **options,
            )
        ]

    return _run_button(args, press)


def _send_all(args: argparse.Namespace) -> int:
    def press(
        sim: SimulatorServer, state: DeliveryState, options: dict[str, Any]
    ) -> list[Delivery]:
        samples = sample_products(Path(args.workdir), args.day)
        return send_all(
            sim, args.webhook_url, samples, state=state, pascal_case=args.pascal_case, **options
        )

    return _run_button(args, press)


def _resend_pending(args: argparse.Namespace) -> int:
    try:
        pending = DeliveryState(Path(args.state)).pending()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not pending:
        print("nothing pending", flush=True)
        return 0

    def press(
        sim: SimulatorServer, state: DeliveryState, options: dict[str, Any]
    ) -> list[Delivery]:
        # Without --pascal-case each resend keeps the spelling of the delivery that failed.
        return resend_pending(
            sim, args.webhook_url, state, pascal_case=args.pascal_case or None, **options
        )

    return _run_button(args, press)


def _details(args: argparse.Namespace) -> int:
    try:
        state = DeliveryState(Path(args.state))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_details(details(state)))
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _button_options() -> argparse.ArgumentParser:
    """Options shared by publish-and-send, send-all and resend-pending."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("webhook_url", help="the receiver's webhook endpoint")
    auth = common.add_argument_group("webhook authentication (as configured on SINtegre)")
    auth.add_argument("--auth", choices=AUTH_MODES, default="none")
    auth.add_argument("--user", help="Basic-auth user")
    auth.add_argument("--password", help=f"Basic-auth password (or env {PASSWORD_ENV})")
    auth.add_argument("--token", help=f"raw Authorization header value (or env {TOKEN_ENV})")
    notif = common.add_argument_group("notifications")
    notif.add_argument(
        "--pascal-case",
        action="store_true",
        help="send the ONS guide's key spelling (Nome, Processo, DataProduto, MacroProcesso, "
        "Periodicidade, PeriodicidadeFinal, Uri)",
    )
    notif.add_argument(
        "--day",
        type=_day,
        default=_today_in_brasilia(),
        help="delivery day YYYY-MM-DD the samples are made for (default: today in Brasília)",
    )
    notif.add_argument(
        "--workdir",
        default=str(DEFAULT_WORKDIR),
        help=f"where sample files are written (default {DEFAULT_WORKDIR})",
    )
    notif.add_argument("--disposition", choices=DISPOSITIONS, default="rfc5987")
    files = common.add_argument_group("the HTTPS file server the notifications point at")
    files.add_argument("--host", default="localhost")
    files.add_argument("--port", type=int, default=DEFAULT_PORT)
    files.add_argument(
        "--cert-dir",
        default=str(DEFAULT_CERT_DIR),
        help=f"CA certificate and key, reused when present (default {DEFAULT_CERT_DIR})",
    )
    files.add_argument("--serve", action="store_true", help="keep serving the files until Ctrl-C")
    files.add_argument(
        "--linger",
        type=float,
        default=DEFAULT_LINGER_SECONDS,
        help="without --serve, serve this many seconds after sending, then exit (default 600)",
    )
    webhook = common.add_argument_group("the webhook connection")
    webhook.add_argument("--ca", help="CA bundle for an HTTPS webhook")
    webhook.add_argument("--insecure", action="store_true", help="skip TLS verification")
    webhook.add_argument("--timeout", type=float, default=10.0)
    return common


def _state_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state",
        default=str(DEFAULT_STATE_PATH),
        help=f"JSON file of each product's last delivery (default {DEFAULT_STATE_PATH}); "
        "it holds live download tokens",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for tests and ``--help``).

    Returns:
        The parser with ``serve``, ``send``, ``publish-and-send``, ``send-all``,
        ``resend-pending`` and ``details`` subcommands.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sintegre_dev.simulator", description=__doc__.splitlines()[0]
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

    buttons = _button_options()
    state = _state_option()
    one = sub.add_parser(
        "publish-and-send",
        parents=[buttons, state],
        help="Enviar: publish one sample product and notify the webhook",
    )
    one.add_argument(
        "--product",
        type=int,
        required=True,
        help=f"catalog id, one of {', '.join(map(str, SAMPLE_PRODUCT_IDS))}",
    )
    one.set_defaults(func=_publish_and_send)
    every = sub.add_parser(
        "send-all",
        parents=[buttons, state],
        help="Enviar Tudo: every sample product at once (concurrent POSTs)",
    )
    every.set_defaults(func=_send_all)
    again = sub.add_parser(
        "resend-pending",
        parents=[buttons, state],
        help="Reenviar Pendentes: resend, with fresh tokens, those not answered 2xx",
    )
    again.set_defaults(func=_resend_pending)
    show = sub.add_parser(
        "details",
        parents=[state],
        help="Exibir Detalhes: each product's last notification and its status",
    )
    show.set_defaults(func=_details)
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
