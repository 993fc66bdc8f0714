"""Build and POST webhook notifications the way SINtegre does."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from sintegre_dev.simulator.server import BRASILIA, Publication

AUTH_MODES = ("none", "basic", "token")
_NAIVE_FORMAT = "%Y-%m-%dT%H:%M:%S"
# The keys as SINtegre sends them, and as the ONS user guide spells them (``url`` is ``Uri``).
CAMEL_CASE_KEYS = (
    "nome",
    "processo",
    "dataProduto",
    "macroProcesso",
    "periodicidade",
    "periodicidadeFinal",
    "url",
)
PASCAL_CASE_KEYS = (
    "Nome",
    "Processo",
    "DataProduto",
    "MacroProcesso",
    "Periodicidade",
    "PeriodicidadeFinal",
    "Uri",
)


def _naive_brasilia(moment: datetime) -> str:
    """Format as ONS does: naive Brasília wall-clock time, no fraction, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(BRASILIA)
    return moment.strftime(_NAIVE_FORMAT)


def build_notification(
    publication: Publication,
    *,
    processo: str,
    macro_processo: str,
    data_produto: str,
    periodicidade: datetime,
    periodicidade_final: datetime,
    nome: str | None = None,
    pascal_case: bool = False,
) -> dict[str, Any]:
    """Assemble the JSON body SINtegre POSTs for a publication.

    Args:
        publication: What :meth:`SimulatorServer.publish` returned.
        processo: ``processo`` (e.g. "Acompanhamento das Condições Hidroenergéticas").
        macro_processo: ``macroProcesso`` (e.g. "Programação da Operação").
        data_produto: ``dataProduto`` as ONS writes it: ``dd/mm/yyyy``,
            ``dd/mm/yyyy - dd/mm/yyyy`` or ``mm/yyyy``; passed through untouched.
        periodicidade: Start of the period (Brasília local time).
        periodicidade_final: End of the period (Brasília local time, usually 23:59:59).
        nome: ``nome``; defaults to the token's ``nomeProduto``.
        pascal_case: Spell the keys as the ONS user guide does (:data:`PASCAL_CASE_KEYS`:
            ``Nome``, ``Processo``, ``DataProduto``, ``MacroProcesso``, ``Periodicidade``,
            ``PeriodicidadeFinal``, ``Uri``) instead of what SINtegre actually sends.

    Returns:
        The seven keys in ONS's order and spelling; aware datetimes are converted to
        Brasília time and all dates rendered naive as ``YYYY-MM-DDTHH:MM:SS``.
    """
    values = (
        publication.claims["nomeProduto"] if nome is None else nome,
        processo,
        data_produto,
        macro_processo,
        _naive_brasilia(periodicidade),
        _naive_brasilia(periodicidade_final),
        publication.url,
    )
    keys = PASCAL_CASE_KEYS if pascal_case else CAMEL_CASE_KEYS
    return dict(zip(keys, values, strict=True))


def notification_body(payload: dict[str, Any]) -> bytes:
    """Serialise like SINtegre: compact UTF-8 JSON, accents as raw UTF-8 (not escaped)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def send_notification(
    webhook_url: str,
    payload: dict[str, Any] | bytes,
    *,
    auth: str = "none",
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    timeout: float = 10.0,
    verify: bool | str | Path = True,
) -> requests.Response:
    """POST a notification to a subscriber's webhook as SINtegre would.

    Args:
        webhook_url: The receiver's endpoint.
        payload: A dict (serialised as compact UTF-8 JSON with ``ensure_ascii=False``,
            so accents travel as raw UTF-8 like ONS sends them) or bytes sent as-is
            (to replay captured or deliberately malformed bodies).
        auth: ``"none"``, ``"basic"`` (HTTP Basic from ``user``/``password``) or
            ``"token"`` (``token`` as the raw ``Authorization`` value, no scheme).
        user: Basic-auth user.
        password: Basic-auth password.
        token: Header value for ``auth="token"``.
        timeout: Seconds for connect and read.
        verify: TLS verification for HTTPS webhooks: ``True``, ``False`` or a CA bundle.
            Environment settings (proxies, netrc, ``REQUESTS_CA_BUNDLE``) are ignored.

    Returns:
        The receiver's response (not raised on error statuses: tests inspect them).

    Raises:
        ValueError: Unknown ``auth`` or missing credentials for it.
    """
    if auth not in AUTH_MODES:
        raise ValueError(f"unknown auth {auth!r}; expected one of {AUTH_MODES}")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if auth == "basic":
        if user is None or password is None:
            raise ValueError("auth='basic' needs user and password")
        # requests would encode the pair as Latin-1; UTF-8 is what .NET's clients send.
        pair = f"{user}:{password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif auth == "token":
        if not token:
            raise ValueError("auth='token' needs token")
        headers["Authorization"] = token
    body = bytes(payload) if isinstance(payload, (bytes, bytearray)) else notification_body(payload)
    # trust_env=False: a ~/.netrc entry would otherwise overwrite (or add) the
    # Authorization header, and the point is to send exactly what ONS would.
    with requests.Session() as session:
        session.trust_env = False
        return session.post(
            webhook_url,
            data=body,
            headers=headers,
            timeout=timeout,
            verify=str(verify) if isinstance(verify, Path) else verify,
        )
