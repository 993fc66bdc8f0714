"""Credentials, ONS-like proxy URLs and notification payloads, for tests of the webhook."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from sintegre_dev.simulator import mint_token

ONS_HOST = "apps08.ons.org.br"
WEBHOOK_USER = "ons"
WEBHOOK_PASSWORD = "s3nh4-do-webhook"
ADMIN_USER = "operador"
ADMIN_PASSWORD = "s3nh4-do-admin"
SUBSCRIBER_EMAIL = "analista.secreta@empresa-exemplo.com.br"


def basic(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def ons_url(
    *,
    product_id: int = 230,
    file_name: str = "ACOMPH_29.04.2025.xls",
    nome: str = "Acomph",
    nbf: int | None = None,
    lifetime: int = 86_640,
    host: str = ONS_HOST,
) -> str:
    """A SINtegre proxy URL carrying a token with ONS's claims."""
    token = mint_token(
        url_claim=f"https://sintegre.ons.org.br/sites/9/13/56/Produtos/{product_id}/{file_name}",
        nome_produto=nome,
        username=SUBSCRIBER_EMAIL,
        nbf=int(time.time()) if nbf is None else nbf,
        lifetime=lifetime,
    )
    return f"https://{host}/ONS.Sintegre.Proxy/webhook?token={token}"


def make_payload(**overrides: Any) -> dict[str, Any]:
    """A valid Acomph notification as ONS sends it; ``overrides`` replace or drop (None) keys."""
    payload: dict[str, Any] = {
        "nome": "Acomph",
        "processo": "Acompanhamento das Condições Hidroenergéticas",
        "dataProduto": "29/04/2025",
        "macroProcesso": "Programação da Operação",
        "periodicidade": "2025-04-29T00:00:00",
        "periodicidadeFinal": "2025-04-29T23:59:59",
        "url": ons_url(),
    }
    for key, value in overrides.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def to_body(payload: dict[str, Any]) -> bytes:
    """Serialise like ONS (UTF-8, accents unescaped)."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
