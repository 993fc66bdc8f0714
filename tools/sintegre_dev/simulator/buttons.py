"""SINtegre's integration buttons: Enviar, Enviar Tudo, Reenviar Pendentes, Exibir Detalhes.

Each webhook integration on SINtegre has buttons to send one product now (*Enviar*), the
latest version of every selected product at once (*Enviar Tudo*, a burst), to resend those
whose delivery failed (*Reenviar Pendentes*) and to show each product's last notification
and its status (*Exibir Detalhes*). This module plays them against a real webhook:

- :func:`publish_and_send` (Enviar), :func:`send_all` (Enviar Tudo, concurrent POSTs),
  :func:`resend_pending` (Reenviar Pendentes: every product whose last answer was not 2xx,
  each with a fresh token, since a resend carries a new token) and :func:`details` /
  :func:`format_details` (Exibir Detalhes);
- :class:`DeliveryState` remembers, per product, the last delivery (notification id, time,
  HTTP status, payload) in a small JSON file. The payload holds the download token: it stays
  in that file (mode 0600) and is never printed nor logged; :class:`Delivery` keeps it out
  of its ``repr``.

The notification id is the first 24 hex digits of the body's sha256, the id the project's
receiver gives the same body, so a line printed here can be found in the receiver's inbox.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qs, urlsplit

import requests

from sintegre.catalog.products import load_catalog
from sintegre.intake.notification import notification_id_of
from sintegre_dev.simulator.samples import SAMPLE_PRODUCT_IDS, Sample, sample_products
from sintegre_dev.simulator.sender import (
    AUTH_MODES,
    build_notification,
    notification_body,
    send_notification,
)
from sintegre_dev.simulator.server import BRASILIA, Publication, SimulatorServer

__all__ = [
    "DEFAULT_STATE_PATH",
    "Delivery",
    "DeliveryState",
    "DetailRow",
    "details",
    "format_details",
    "publish_and_send",
    "resend_pending",
    "send_all",
]

DEFAULT_STATE_PATH = Path(".state/simulator/state.json")
STATE_VERSION = 1
# Burst size cap: "Enviar Tudo" on a big integration must not open hundreds of sockets.
MAX_CONCURRENT = 64
_RECEIVER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")


class SendKwargs(TypedDict, total=False):
    """The keyword arguments every button takes (see :class:`SendOptions`)."""

    pascal_case: bool
    auth: str
    user: str | None
    password: str | None
    token: str | None
    timeout: float
    verify: bool | str | Path
    disposition: str


@dataclass(frozen=True)
class SendOptions:
    """How a button notifies the webhook and serves the files (one place for all buttons).

    Attributes:
        pascal_case: Send the ONS guide's key spelling (``Nome``… ``Uri``).
        auth: ``"none"``, ``"basic"`` or ``"token"``, as :func:`send_notification`.
        user: Basic-auth user.
        password: Basic-auth password (kept out of the repr).
        token: Raw ``Authorization`` value for ``auth="token"`` (kept out of the repr).
        timeout: Seconds for each answer of the webhook.
        verify: TLS verification for an HTTPS webhook.
        disposition: Content-Disposition style of the downloads.
    """

    pascal_case: bool = False
    auth: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    verify: bool | str | Path = True
    disposition: str = "rfc5987"


@dataclass(frozen=True)
class Delivery:
    """One notification POSTed to the webhook and what the webhook answered.

    Attributes:
        product_id: Catalog id.
        nome: ``nome`` sent.
        data_produto: ``dataProduto`` sent.
        notification_id: ``sha256(body)[:24]``, the receiver's id for this body.
        sent_at: When the POST started (aware, Brasília time).
        status: The webhook's HTTP status, ``None`` when no answer came.
        error: The exception class name when no answer came (never its message, which
            may quote URLs).
        attempt: 1 for the first delivery of this version of the product, 2 for its first
            resend...
        resend: Whether this was a *Reenviar Pendentes* resend.
        receiver_id: The ``id`` the webhook returned in a JSON answer, if any.
        payload: The notification as sent; holds the download token (not in ``repr``).
        token_nbf: The token's ``nbf`` (the delivery instant, epoch seconds).
    """

    product_id: int
    nome: str
    data_produto: str
    notification_id: str
    sent_at: datetime
    status: int | None
    error: str | None = None
    attempt: int = 1
    resend: bool = False
    receiver_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    token_nbf: int | None = None

    @property
    def ok(self) -> bool:
        """Delivered: the webhook answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def token(self) -> str | None:
        """The download token inside the payload's ``url``/``Uri`` (a secret: never log it)."""
        return _token_of(self.payload)

    def summary(self) -> str:
        """One line for people: product, status, notification id; no URL, no token.

        Returns:
            E.g. ``"275 Arquivos de Previsão de Carga para o DESSEM: HTTP 200,
            notification 3f9a…"``.
        """
        outcome = f"HTTP {self.status}" if self.status is not None else f"error {self.error}"
        suffix = f" (resend, attempt {self.attempt})" if self.resend else ""
        line = f"{self.product_id} {self.nome}: {outcome}, notification {self.notification_id}"
        if self.receiver_id and self.receiver_id != self.notification_id:
            line += f" (receiver id {self.receiver_id})"
        return line + suffix


def _token_of(payload: dict[str, Any]) -> str | None:
    for key, value in payload.items():
        if key.lower() in ("url", "uri") and isinstance(value, str):
            values = parse_qs(urlsplit(value).query).get("token")
            return values[0] if values else None
    return None


def _sample_to_json(sample: Sample) -> dict[str, Any]:
    return {
        "path": str(sample.path),
        "file_name": sample.file_name,
        "product_id": sample.product_id,
        "nome": sample.nome,
        "processo": sample.processo,
        "macro_processo": sample.macro_processo,
        "data_produto": sample.data_produto,
        "periodicidade": sample.periodicidade.isoformat(),
        "periodicidade_final": sample.periodicidade_final.isoformat(),
        "is_file": sample.is_file,
        "granularity": sample.granularity,
        "kind": sample.kind,
        "day": sample.day.isoformat() if sample.day else None,
    }


def _sample_from_json(raw: dict[str, Any]) -> Sample:
    return Sample(
        path=Path(raw["path"]),
        file_name=raw["file_name"],
        product_id=int(raw["product_id"]),
        nome=raw["nome"],
        processo=raw["processo"],
        macro_processo=raw["macro_processo"],
        data_produto=raw["data_produto"],
        periodicidade=datetime.fromisoformat(raw["periodicidade"]),
        periodicidade_final=datetime.fromisoformat(raw["periodicidade_final"]),
        is_file=bool(raw["is_file"]),
        granularity=raw.get("granularity", "daily"),
        kind=raw.get("kind", ""),
        day=date.fromisoformat(raw["day"]) if raw.get("day") else None,
    )


class DeliveryState:
    """Per-product record of the last delivery, kept in a JSON file.

    The file looks like ``{"version": 1, "products": {"275": {...}}}``; each record holds
    the sample (file path and notification fields, to resend the same version), the last
    ``notification_id``, ``sent_at``, ``status``, ``error``, ``attempts``, ``token_nbf`` and
    the ``payload`` as sent. It is written atomically with mode 0600 after every change
    because the payload's URL carries a live download token.

    Attributes:
        path: The JSON file, or ``None`` for a state kept in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        """Open (or start) a state.

        Args:
            path: JSON file to read and keep up to date; ``None`` keeps it in memory.

        Raises:
            ValueError: The file exists but is not a state file.
        """
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._records: dict[int, dict[str, Any]] = {}
        if self.path is not None and self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                products = raw["products"]
                self._records = {int(key): dict(value) for key, value in products.items()}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{self.path} is not a simulator state file: {exc}") from None

    def last(self, product_id: int) -> dict[str, Any] | None:
        """The record of a product's last delivery.

        Args:
            product_id: Catalog id.

        Returns:
            A copy of the record, or ``None`` when the product was never sent.
        """
        with self._lock:
            record = self._records.get(product_id)
            return json.loads(json.dumps(record)) if record is not None else None

    def records(self) -> list[dict[str, Any]]:
        """Every product's record, by product id.

        Returns:
            Copies of the records.
        """
        with self._lock:
            ids = sorted(self._records)
        return [record for product_id in ids if (record := self.last(product_id)) is not None]

    def pending(self) -> list[dict[str, Any]]:
        """Records whose last delivery was not answered 2xx (no answer included).

        Returns:
            Copies of those records, by product id.
        """
        return [record for record in self.records() if not _is_2xx(record.get("status"))]

    def sample(self, product_id: int) -> Sample:
        """The sample (file and notification fields) last sent for a product.

        Args:
            product_id: Catalog id.

        Returns:
            The sample.

        Raises:
            KeyError: The product was never sent.
        """
        with self._lock:
            record = self._records.get(product_id)
            if record is None:
                raise KeyError(f"product {product_id} was never sent")
            return _sample_from_json(record["sample"])

    def record(self, delivery: Delivery, sample: Sample) -> None:
        """Remember a delivery as its product's last one and save.

        Args:
            delivery: What was sent and answered.
            sample: The file and fields it was built from.
        """
        entry = {
            "product_id": delivery.product_id,
            "nome": delivery.nome,
            "data_produto": delivery.data_produto,
            "notification_id": delivery.notification_id,
            "sent_at": delivery.sent_at.isoformat(timespec="seconds"),
            "status": delivery.status,
            "error": delivery.error,
            "attempts": delivery.attempt,
            "resend": delivery.resend,
            "receiver_id": delivery.receiver_id,
            "token_nbf": delivery.token_nbf,
            "sample": _sample_to_json(sample),
            "payload": delivery.payload,
        }
        with self._lock:
            self._records[delivery.product_id] = entry
            self._save_locked()

    def attempts_of(self, sample: Sample) -> int:
        """How many times this version of the product (same file and label) was sent.

        Args:
            sample: The version about to be sent.

        Returns:
            0 when the product's last delivery was another version or there was none.
        """
        record = self.last(sample.product_id)
        if record is None:
            return 0
        previous = record.get("sample", {})
        same = (
            previous.get("data_produto") == sample.data_produto
            and previous.get("file_name") == sample.file_name
            and previous.get("path") == str(sample.path)
        )
        return int(record.get("attempts") or 0) if same else 0

    def latest_nbf(self, product_ids: Iterable[int]) -> int:
        """The newest token ``nbf`` recorded for these products (0 when none).

        Args:
            product_ids: Catalog ids.

        Returns:
            Epoch seconds.
        """
        with self._lock:
            values = [
                int(self._records[pid].get("token_nbf") or 0)
                for pid in product_ids
                if pid in self._records
            ]
        return max(values, default=0)

    def _save_locked(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "version": STATE_VERSION,
            "products": {str(pid): self._records[pid] for pid in sorted(self._records)},
        }
        data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        # mkstemp creates the file 0600; the rename makes the update atomic.
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _is_2xx(status: Any) -> bool:
    return isinstance(status, int) and 200 <= status < 300


def _check_auth(auth: str, user: str | None, password: str | None, token: str | None) -> None:
    """Refuse bad credentials before anything is published (same rules as the sender)."""
    if auth not in AUTH_MODES:
        raise ValueError(f"unknown auth {auth!r}; expected one of {AUTH_MODES}")
    if auth == "basic" and (user is None or password is None):
        raise ValueError("auth='basic' needs user and password")
    if auth == "token" and not token:
        raise ValueError("auth='token' needs token")


def _fresh_nbf(state: DeliveryState | None, product_ids: Iterable[int]) -> int:
    """Now, in epoch seconds, but strictly after every token already sent for these products.

    Tokens are minted from whole-second claims: a resend within the second of the first
    attempt would otherwise carry the very same token. Waiting (under a second) for the next
    second keeps ``nbf`` equal to the delivery instant, as on ONS.
    """
    latest = state.latest_nbf(product_ids) if state is not None else 0
    now = time.time()
    if int(now) <= latest:
        time.sleep(latest + 1 - now)
    return max(int(time.time()), latest + 1)


def _receiver_id(response: requests.Response) -> str | None:
    """The ``id`` of a JSON answer (the project's receiver returns one), if harmless."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        value = response.json().get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and _RECEIVER_ID.fullmatch(value) else None


def _post(
    webhook_url: str,
    sample: Sample,
    publication: Publication,
    *,
    attempt: int,
    resend: bool,
    options: SendOptions,
    gate: threading.Event | None = None,
) -> Delivery:
    """Build one notification and POST it (after ``gate`` opens, for bursts)."""
    payload = build_notification(
        publication,
        processo=sample.processo,
        macro_processo=sample.macro_processo,
        data_produto=sample.data_produto,
        periodicidade=sample.periodicidade,
        periodicidade_final=sample.periodicidade_final,
        nome=sample.nome,
        pascal_case=options.pascal_case,
    )
    # Serialised once, here, so the id printed is the receiver's id for these exact bytes.
    body = notification_body(payload)
    if gate is not None:
        gate.wait()
    sent_at = datetime.now(BRASILIA)
    status: int | None = None
    error: str | None = None
    receiver_id: str | None = None
    try:
        response = send_notification(
            webhook_url,
            body,
            auth=options.auth,
            user=options.user,
            password=options.password,
            token=options.token,
            timeout=options.timeout,
            verify=options.verify,
        )
    except requests.RequestException as exc:
        error = type(exc).__name__
    else:
        status = response.status_code
        receiver_id = _receiver_id(response)
        response.close()
    return Delivery(
        product_id=sample.product_id,
        nome=sample.nome,
        data_produto=sample.data_produto,
        notification_id=notification_id_of(body),
        sent_at=sent_at,
        status=status,
        error=error,
        attempt=attempt,
        resend=resend,
        receiver_id=receiver_id,
        payload=payload,
        token_nbf=int(publication.claims["nbf"]),
    )


def _publish(server: SimulatorServer, sample: Sample, *, nbf: int, disposition: str) -> Publication:
    return server.publish(
        sample.path,
        file_name=sample.file_name,
        product_id=sample.product_id,
        nome=sample.nome,
        is_file=sample.is_file,
        nbf=nbf,
        disposition=disposition,
    )


def _ensure_file(sample: Sample) -> None:
    """Recreate a sample's file when it was deleted (samples are deterministic per day).

    Raises:
        FileNotFoundError: It is gone and cannot be made again.
    """
    if sample.path.exists():
        return
    if sample.day is not None and sample.product_id in SAMPLE_PRODUCT_IDS:
        # Layout: <workdir>/<day>/<id>/<file or folder>.
        workdir = sample.path.parents[2]
        sample_products(workdir, sample.day, product_ids=(sample.product_id,))
    if not sample.path.exists():
        raise FileNotFoundError(f"sample file for product {sample.product_id} is gone")


def _burst(
    server: SimulatorServer,
    webhook_url: str,
    samples: Sequence[Sample],
    *,
    state: DeliveryState | None,
    resend: bool,
    options: SendOptions,
) -> list[Delivery]:
    """Publish every sample with a fresh token, then POST them all at once."""
    _check_auth(options.auth, options.user, options.password, options.token)
    if not samples:
        return []
    ids = [sample.product_id for sample in samples]
    if len(set(ids)) != len(ids):
        raise ValueError(f"one sample per product, got ids {ids}")
    for sample in samples:
        _ensure_file(sample)
    nbf = _fresh_nbf(state, ids)
    publications = [_publish(server, s, nbf=nbf, disposition=options.disposition) for s in samples]
    gate = threading.Event()
    with ThreadPoolExecutor(
        max_workers=min(len(samples), MAX_CONCURRENT), thread_name_prefix="sintegre-send"
    ) as pool:
        futures = [
            pool.submit(
                _post,
                webhook_url,
                sample,
                publication,
                attempt=(state.attempts_of(sample) if state is not None else 0) + 1,
                resend=resend,
                options=options,
                gate=gate,
            )
            for sample, publication in zip(samples, publications, strict=True)
        ]
        # Every worker is built and waiting: release them together, like the real burst.
        gate.set()
        deliveries = [future.result() for future in futures]
    if state is not None:
        for sample, delivery in zip(samples, deliveries, strict=True):
            state.record(delivery, sample)
    return deliveries


def publish_and_send(
    server: SimulatorServer,
    webhook_url: str,
    sample: Sample,
    *,
    state: DeliveryState | None = None,
    **options: Unpack[SendKwargs],
) -> Delivery:
    """*Enviar*: publish one product with a fresh token and notify the webhook.

    Args:
        server: A started simulator that serves the file.
        webhook_url: The receiver's endpoint.
        sample: The product version to send.
        state: Where to record the delivery (nothing recorded when ``None``).
        **options: How to send (:class:`SendOptions`: auth, key spelling, TLS…).

    Returns:
        The delivery.

    Raises:
        ValueError: Bad auth arguments.
        FileNotFoundError: The sample's file is gone and cannot be made again.
    """
    [delivery] = _burst(
        server,
        webhook_url,
        [sample],
        state=state,
        resend=False,
        options=SendOptions(**options),
    )
    return delivery


def send_all(
    server: SimulatorServer,
    webhook_url: str,
    samples: Sequence[Sample],
    *,
    state: DeliveryState | None = None,
    **options: Unpack[SendKwargs],
) -> list[Delivery]:
    """*Enviar Tudo*: the latest version of every product, all POSTed at the same moment.

    Every sample is published first (one fresh token each, all with the same ``nbf``),
    then one thread per product (at most :data:`MAX_CONCURRENT`) POSTs its notification
    once all are ready, so the webhook receives a burst of concurrent requests.

    Args:
        server: A started simulator that serves the files.
        webhook_url: The receiver's endpoint.
        samples: One sample per product (e.g. :func:`sample_products`).
        state: Where to record the deliveries.
        **options: How to send (:class:`SendOptions`: auth, key spelling, TLS…).

    Returns:
        One delivery per sample, in the samples' order.

    Raises:
        ValueError: Bad auth arguments, or two samples of the same product.
        FileNotFoundError: A sample's file is gone and cannot be made again.
    """
    return _burst(
        server,
        webhook_url,
        samples,
        state=state,
        resend=False,
        options=SendOptions(**options),
    )


def resend_pending(
    server: SimulatorServer,
    webhook_url: str,
    state: DeliveryState,
    *,
    pascal_case: bool | None = None,
    **options: Unpack[SendKwargs],
) -> list[Delivery]:
    """*Reenviar Pendentes*: resend every product whose last answer was not 2xx.

    Each resend is the same version (file and notification fields) as the failed delivery,
    published again with a fresh token (new ``nbf`` = now, strictly later than the failed
    one's), as SINtegre does; they go out together like :func:`send_all`.

    Args:
        server: A started simulator that serves the files.
        webhook_url: The receiver's endpoint.
        state: The record of past deliveries; updated.
        pascal_case: Key spelling; ``None`` keeps each failed delivery's spelling.
        **options: How to send (:class:`SendOptions`: auth, TLS…).

    Returns:
        One delivery per pending product (empty when nothing is pending).

    Raises:
        ValueError: Bad auth arguments.
        FileNotFoundError: A pending product's file is gone and cannot be made again.
    """
    pending = state.pending()
    deliveries: list[Delivery] = []
    # Group by key spelling so each resend keeps its original one unless told otherwise.
    groups: dict[bool, list[Sample]] = {}
    for record in pending:
        spelling = (
            pascal_case
            if pascal_case is not None
            else any(key[:1].isupper() for key in record.get("payload", {}))
        )
        groups.setdefault(spelling, []).append(state.sample(record["product_id"]))
    for spelling, samples in groups.items():
        deliveries += _burst(
            server,
            webhook_url,
            samples,
            state=state,
            resend=True,
            options=SendOptions(**{**options, "pascal_case": spelling}),
        )
    return sorted(deliveries, key=lambda delivery: delivery.product_id)


@dataclass(frozen=True)
class DetailRow:
    """One line of *Exibir Detalhes*.

    Attributes:
        product_id: Catalog id.
        nome: Product name.
        data_produto: ``dataProduto`` of the last notification (``None``: never sent).
        sent_at: When it was last sent (ISO, Brasília), ``None`` when never.
        status: Last HTTP status, ``None`` when never sent or unanswered.
        error: Why there was no answer, if so.
        notification_id: Last notification id.
        attempts: Sends of the last version.
    """

    product_id: int
    nome: str
    data_produto: str | None = None
    sent_at: str | None = None
    status: int | None = None
    error: str | None = None
    notification_id: str | None = None
    attempts: int = 0

    @property
    def status_text(self) -> str:
        """What the table shows: ``"200"``, ``"500 (pending)"``, ``"never sent"``..."""
        if self.sent_at is None:
            return "never sent"
        if self.status is None:
            return f"error {self.error or 'unknown'} (pending)"
        return str(self.status) if _is_2xx(self.status) else f"{self.status} (pending)"


def details(
    state: DeliveryState, product_ids: Iterable[int] = SAMPLE_PRODUCT_IDS
) -> list[DetailRow]:
    """*Exibir Detalhes*: each product's last notification and its status.

    Args:
        state: The record of deliveries.
        product_ids: Products to list even when never sent (the sample products by
            default); every product found in ``state`` is listed too.

    Returns:
        One row per product, by product id.
    """
    catalog = load_catalog()
    rows: dict[int, DetailRow] = {}
    for product_id in product_ids:
        product = catalog.by_id(product_id)
        rows[product_id] = DetailRow(product_id, product.name if product else f"#{product_id}")
    for record in state.records():
        product_id = int(record["product_id"])
        rows[product_id] = DetailRow(
            product_id=product_id,
            nome=record["nome"],
            data_produto=record.get("data_produto"),
            sent_at=record.get("sent_at"),
            status=record.get("status"),
            error=record.get("error"),
            notification_id=record.get("notification_id"),
            attempts=int(record.get("attempts") or 0),
        )
    return [rows[product_id] for product_id in sorted(rows)]


def format_details(rows: Sequence[DetailRow]) -> str:
    """Render :func:`details` as a plain-text table.

    Args:
        rows: The rows.

    Returns:
        The table, a header line, a rule and one line per product (no trailing newline).
    """
    header = ("id", "nome", "dataProduto", "last sent", "status", "notification id", "sends")
    lines = [
        (
            str(row.product_id),
            row.nome,
            row.data_produto or "-",
            row.sent_at or "-",
            row.status_text,
            row.notification_id or "-",
            str(row.attempts),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    table = [render(header), "  ".join("-" * width for width in widths)]
    table += [render(cells) for cells in lines]
    return "\n".join(line.rstrip() for line in table)
