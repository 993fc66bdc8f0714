"""``normalize``: one webhook body → a :class:`Notification`, or a 4xx naming the field."""

from __future__ import annotations

import functools
import hashlib
import time
from typing import TYPE_CHECKING, Any

from sintegre.core.slugs import slugify
from sintegre.intake.notification.body import canonical_fields, parse_body
from sintegre.intake.notification.dates import (
    _check_period_near,
    data_produto_shape,
    granularity_of,
    parse_local_datetime,
)
from sintegre.intake.notification.errors import NotificationError
from sintegre.intake.notification.model import Notification, notification_id_of
from sintegre.intake.notification.urls import (
    _epoch_claim,
    checked_download_url,
    product_id_from_claim,
    read_token_claims,
)

if TYPE_CHECKING:
    pass


@functools.lru_cache(maxsize=1024)
def _slug(text: str, fallback: str) -> str:
    """:func:`slugify`, cached: ONS sends a few hundred product names and a dozen
    macroprocessos over and over, and each slug costs a Unicode decomposition."""
    return slugify(text, fallback=fallback)


def _check_storable(value: str, name: str) -> None:
    """Refuse text no database stores: lone surrogates (from \\ud800 escapes) and NUL."""
    if "\x00" in value:
        raise NotificationError(f"field '{name}' contains a NUL character", field=name)
    if value.isascii():  # no surrogate is ASCII: the encode below is skipped (the 800-byte URL)
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotificationError(
            f"field '{name}' contains an invalid Unicode escape (lone surrogate)", field=name
        ) from None


def _required_text(known: dict[str, Any], name: str) -> str:
    if name not in known or known[name] is None:
        raise NotificationError(f"field '{name}' is required", field=name)
    value = known[name]
    if not isinstance(value, str):
        raise NotificationError(
            f"field '{name}' must be a string, got {type(value).__name__}", field=name
        )
    if not value.strip():
        raise NotificationError(f"field '{name}' must not be empty", field=name)
    _check_storable(value, name)
    return value.strip()


def _optional_text(known: dict[str, Any], name: str) -> str | None:
    value = known.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotificationError(
            f"field '{name}' must be a string, got {type(value).__name__}", field=name
        )
    _check_storable(value, name)
    return value.strip() or None


def normalize(
    body: bytes,
    *,
    allowed_hosts: tuple[str, ...],
    now: float | None = None,
) -> Notification:
    """Validate and normalise one webhook body.

    Args:
        body: The raw request body, exactly as received.
        allowed_hosts: Hosts the download URL may point to (exact match).
        now: The current epoch time, for the token expiry check (tests pass one).

    Returns:
        The normalised :class:`Notification`; its ``id`` is derived from the body hash, so a
        byte-identical repeat gets the same id.

    Raises:
        NotificationError: With the HTTP status and a message naming what is wrong.
    """
    data = parse_body(body)
    known, extra = canonical_fields(data)
    nome = _required_text(known, "nome")
    macro = _required_text(known, "macroProcesso")
    start_raw = _required_text(known, "periodicidade")
    end_raw = _required_text(known, "periodicidadeFinal")
    url = _required_text(known, "url")
    processo = _optional_text(known, "processo")
    data_produto = _optional_text(known, "dataProduto")

    start = parse_local_datetime(start_raw, "periodicidade")
    end = parse_local_datetime(end_raw, "periodicidadeFinal")
    if end < start:
        raise NotificationError(
            "field 'periodicidadeFinal' is before 'periodicidade'", field="periodicidadeFinal"
        )
    current = time.time() if now is None else now
    _check_period_near(start, "periodicidade", current)
    _check_period_near(end, "periodicidadeFinal", current)

    # What the receiver accepts, the DAG accepts: scheme and host in lower case (the DAG's
    # Param pattern is ^https://), path and query (the token) untouched.
    token, url = checked_download_url(url, allowed_hosts)
    claims = read_token_claims(token)
    exp = _epoch_claim(claims.get("exp"), "exp")
    nbf = _epoch_claim(claims.get("nbf"), "nbf")
    if exp is not None and exp <= current:
        raise NotificationError("field 'url' carries a token that has already expired", field="url")
    url_claim = claims.get("URL") if isinstance(claims.get("URL"), str) else None
    is_file_claim = claims.get("IsFile")
    is_file = None if is_file_claim is None else str(is_file_claim).strip().lower() == "true"

    flags: list[str] = []
    shape = data_produto_shape(data_produto) if data_produto else None
    if data_produto is None:
        flags.append("data_produto_missing")
    elif shape is None:
        flags.append("data_produto_unknown_shape")
    if processo is None:
        flags.append("processo_missing")
    if extra:
        flags.append("extra_keys")
    product_id = product_id_from_claim(url_claim)
    if product_id is None:
        flags.append("product_id_unknown")

    digest = hashlib.sha256(body).hexdigest()
    start_date, end_date = start.date(), end.date()
    return Notification.trusted(
        id=notification_id_of(body, digest),
        body_sha256=digest,
        nome=nome,
        processo=processo,
        data_produto=data_produto,
        data_produto_shape=shape,
        macro_processo=macro,
        periodicidade_raw=start_raw,
        periodicidade_final_raw=end_raw,
        periodicidade=start_date,
        periodicidade_final=end_date,
        granularity=granularity_of(start_date, end_date),
        url=url,
        product_id=product_id,
        dataset=_slug(nome, "produto"),
        macroprocesso_slug=_slug(macro, "sem_macroprocesso"),
        token_nbf=nbf,
        token_exp=exp,
        token_url_claim=url_claim,
        token_is_file=is_file,
        flags=tuple(flags),
        extra=extra,
    )
