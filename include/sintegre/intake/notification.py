"""The SINtegre notification: parse, validate and normalise one webhook body.

ONS sends seven string keys in lower camelCase; its user guide spells them in PascalCase and
calls the link ``Uri``. Period fields are naive Brasília time, but relays re-serialise them as
UTC (``2025-08-01T03:00:00.000Z`` is 1 August in Brasília): every date is taken in
America/Sao_Paulo, never in UTC.
"""

from __future__ import annotations

import calendar
import hashlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import jwt

from sintegre.core.slugs import slugify

if TYPE_CHECKING:
    from sintegre.core.runconf import Granularity

BRASILIA = ZoneInfo("America/Sao_Paulo")

#: Deeper than any real payload (a flat object); deeper JSON is refused before it costs anything.
MAX_JSON_DEPTH = 4

_CANONICAL_KEYS = {
    "nome": "nome",
    "processo": "processo",
    "dataproduto": "dataProduto",
    "macroprocesso": "macroProcesso",
    "periodicidade": "periodicidade",
    "periodicidadefinal": "periodicidadeFinal",
    "url": "url",
    "uri": "url",
}
REQUIRED_FIELDS = ("nome", "macroProcesso", "periodicidade", "periodicidadeFinal", "url")

_DAILY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_WEEKLY = re.compile(r"^\d{2}/\d{2}/\d{4}\s*-\s*\d{2}/\d{2}/\d{4}$")
_MONTHLY = re.compile(r"^\d{2}/\d{4}$")
_PRODUCT_ID = re.compile(r"/Produtos/([0-9]{1,9})(?:/|$)", re.IGNORECASE)
_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.~:+-]+")


class NotificationError(ValueError):
    """A notification that must be refused.

    Attributes:
        status: The HTTP status to answer (400 unreadable body, 422 invalid field).
        field: The field at fault, when there is one.
    """

    def __init__(self, message: str, *, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Notification:
    """A validated, normalised notification. ``url`` holds a bearer token: never log it."""

    id: str
    body_sha256: str
    nome: str
    processo: str | None
    data_produto: str | None
    data_produto_shape: str | None
    macro_processo: str
    periodicidade_raw: str
    periodicidade_final_raw: str
    periodicidade: date
    periodicidade_final: date
    granularity: str
    url: str
    product_id: int | None
    dataset: str
    macroprocesso_slug: str
    token_nbf: int | None
    token_exp: int | None
    token_url_claim: str | None
    token_is_file: bool | None
    flags: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def dag_run_id(self) -> str:
        """A run id that is the same for a retried delivery and new for each delivery.

        It carries what a person needs to recognise the run (product and period start) and the
        first 12 hex digits of the body hash, which differs for every SINtegre delivery because
        each one carries a fresh token.
        """
        product = _RUN_ID_UNSAFE.sub("_", self.dataset)[:80] or "produto"
        return f"sintegre__{product}__{self.periodicidade.isoformat()}__{self.id[:12]}"

    def to_conf(self) -> dict[str, Any]:
        """The DAG run ``conf``: the notification as sent plus what the receiver derived.

        Built through :class:`sintegre.core.runconf.RunConf`, the one contract the tasks validate.
        """
        from sintegre.core.runconf import RunConf

        return RunConf(**self._conf_fields()).to_conf()

    def _conf_fields(self) -> dict[str, Any]:
        return {
            "notification_id": self.id,
            "nome": self.nome,
            "processo": self.processo,
            "dataProduto": self.data_produto,
            "macroProcesso": self.macro_processo,
            "periodicidade": self.periodicidade_raw,
            "periodicidadeFinal": self.periodicidade_final_raw,
            "url": self.url,
            "product_id": self.product_id,
            "dataset": self.dataset,
            "macroprocesso_slug": self.macroprocesso_slug,
            "periodicidade_date": self.periodicidade,
            "periodicidade_final_date": self.periodicidade_final,
            "granularity": self.granularity,
            "token_exp": self.token_exp,
            "token_nbf": self.token_nbf,
            "token_url_claim": self.token_url_claim,
            "token_is_file": self.token_is_file,
            "flags": list(self.flags),
        }


def notification_id_of(body: bytes) -> str:
    """The receiver's id for a body: its sha256, shortened (a byte-identical repeat shares it)."""
    return hashlib.sha256(body).hexdigest()[:24]


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON nests deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return False


#: Digits a JSON integer may have: epochs and ids need 10–13; Python refuses 4,300+ anyway,
#: with a ValueError that must not become a 500.
MAX_INT_DIGITS = 30
_SURROGATE = re.compile("[\ud800-\udfff]")


class _BadJson(ValueError):
    """JSON that parses but that no sender means: duplicate keys, absurd numbers."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"url": A, "url": B} is last-wins in Python: refuse it, naming the key, rather than
    # guess which one the sender meant.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = _SURROGATE.sub("?", key)[:60]
            raise _BadJson(f"duplicate key {shown!r}")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadJson(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _no_nan(text: str) -> float:
    raise _BadJson(f"{text} is not a JSON number")


def _lone_surrogate(value: Any, where: str = "the body") -> str | None:
    """Where a string (key or value) holds a lone surrogate, or None."""
    if isinstance(value, str):
        return where if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return "a key"
            found = _lone_surrogate(item, f"field {key!r}")
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _lone_surrogate(item, where)
            if found:
                return found
    return None


def parse_body(body: bytes) -> dict[str, Any]:
    """Decode the raw body into a JSON object.

    Raises:
        NotificationError: 400 when the body is not UTF-8, not JSON, too deep or not an object.
    """
    if not body.strip():
        raise NotificationError("the body is empty; a JSON object was expected", status=400)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotificationError(
            f"the body is not valid UTF-8 (byte {exc.start})", status=400
        ) from None
    try:
        data = json.loads(
            text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=_no_nan
        )
    except _BadJson as exc:
        raise NotificationError(f"the body is not valid JSON: {exc}", status=400) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise NotificationError(f"the body is not valid JSON: {message}", status=400) from None
    bad = _lone_surrogate(data)
    if bad is not None:
        raise NotificationError(
            f"the body is not valid JSON: {bad} holds a lone UTF-16 surrogate (\\ud800-\\udfff "
            "escape), which is not text",
            status=400,
        )
    if not isinstance(data, dict):
        raise NotificationError(
            f"the body must be a JSON object, got {type(data).__name__}", status=400
        )
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise NotificationError(
            f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels", status=400
        )
    return data


def canonical_fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Map keys in any casing onto ONS's names; ``uri`` is a synonym of ``url``.

    Returns:
        The known fields under their canonical names, and every other key as sent.
    """
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        canonical = _CANONICAL_KEYS.get(str(key).strip().lower())
        if canonical is None:
            extra[key] = value
            continue
        if canonical in known and known[canonical] != value:
            raise NotificationError(
                f"field '{canonical}' is given twice with different values (as '{key}' too)",
                field=canonical,
            )
        known[canonical] = value
    return known, extra


def parse_local_datetime(value: str, field_name: str) -> datetime:
    """Parse an ISO date-time; naive means Brasília time, aware is converted to it.

    Raises:
        NotificationError: 422 naming the field when the value is not an ISO date-time.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise NotificationError(
            f"field '{field_name}' is not an ISO date-time (YYYY-MM-DDTHH:MM:SS): {text[:40]!r}",
            field=field_name,
        ) from None
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=BRASILIA)
        return parsed.astimezone(BRASILIA)
    except OverflowError:
        raise NotificationError(
            f"field '{field_name}' is outside the calendar once converted to Brasília time",
            field=field_name,
        ) from None


def granularity_of(start: date, end: date) -> Granularity:
    """Classify a period: ``daily``, ``weekly`` (Saturday–Friday), ``monthly`` or ``other``."""
    days = (end - start).days + 1
    if days == 1:
        return "daily"
    # ONS's "semana operativa" runs Saturday to Friday (date.weekday(): Saturday == 5).
    if days == 7 and start.weekday() == 5:
        return "weekly"
    last_day = calendar.monthrange(start.year, start.month)[1]
    if start.day == 1 and end == start.replace(day=last_day):
        return "monthly"
    return "other"


def data_produto_shape(label: str) -> str | None:
    """Which of ONS's three ``dataProduto`` shapes a label has, or ``None``."""
    text = label.strip()

    def valid(fmt: str, part: str) -> bool:
        try:
            datetime.strptime(part.strip(), fmt)
        except ValueError:
            return False
        return True

    if _DAILY.match(text) and valid("%d/%m/%Y", text):
        return "daily"
    if _WEEKLY.match(text):
        first, second = text.split("-", 1)
        if valid("%d/%m/%Y", first) and valid("%d/%m/%Y", second):
            return "weekly"
    if _MONTHLY.match(text) and valid("%m/%Y", text):
        return "monthly"
    return None


def check_fetch_target(
    url: str, allowed_hosts: tuple[str, ...], *, what: str = "field 'url'"
) -> SplitResult:
    """Refuse any address we would not fetch: only https on an allowlisted host, by name, with
    no credentials. Applied to the notification's URL and to every redirect hop.

    Returns:
        The split URL.

    Raises:
        NotificationError: 422 naming ``what`` and what is wrong (never the token itself).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise NotificationError(f"{what} is not a valid URL", field="url") from None
    if parts.scheme.lower() != "https":
        raise NotificationError(
            f"{what} must use https, not {parts.scheme or 'no scheme'!r}", field="url"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise NotificationError(f"{what} must not carry credentials", field="url")
    if not host:
        raise NotificationError(f"{what} has no host", field="url")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise NotificationError(f"{what} must name a host, not an IP address", field="url")
    if host not in allowed_hosts:
        raise NotificationError(
            f"{what} points to host {host!r}, which is not in SINTEGRE_ALLOWED_DOWNLOAD_HOSTS",
            field="url",
        )
    return parts


#: How far ahead of today a notification's period may start or end. ONS publishes for the
#: coming days, weeks and months (NEWAVE looks five years ahead inside its files, never in the
#: period fields); a period in 2099 is a mistake, or an attempt to silence freshness for good.
MAX_PERIOD_AHEAD_DAYS = 2 * 366
#: How far back: resends of old products happen (a replay of last year's deck), year 1 does not.
MAX_PERIOD_BEHIND_DAYS = 10 * 366


def _check_period_near(moment: datetime, field_name: str, now: float) -> None:
    today = datetime.fromtimestamp(now, tz=UTC).date()
    days = (moment.date() - today).days
    if days > MAX_PERIOD_AHEAD_DAYS:
        raise NotificationError(
            f"field {field_name!r} is {moment.date().isoformat()}, more than two years ahead",
            field=field_name,
        )
    if -days > MAX_PERIOD_BEHIND_DAYS:
        raise NotificationError(
            f"field {field_name!r} is {moment.date().isoformat()}, more than ten years ago",
            field=field_name,
        )


def canonical_url(url: str) -> str:
    """The URL with its scheme and host in lower case (``HTTPS://APPS08…`` → ``https://apps08…``)."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def check_download_url(url: str, allowed_hosts: tuple[str, ...]) -> str:
    """Refuse any URL we would not fetch (see :func:`check_fetch_target`); it needs a token.

    Returns:
        The token query parameter.

    Raises:
        NotificationError: 422 naming ``url`` and what is wrong (never the token itself).
    """
    parts = check_fetch_target(url, allowed_hosts)
    tokens = parse_qs(parts.query).get("token") or []
    if len(tokens) != 1 or not tokens[0].strip():
        raise NotificationError("field 'url' has no token query parameter", field="url")
    return tokens[0]


def read_token_claims(token: str) -> dict[str, Any]:
    """Decode the ONS JWT without verifying it (only ONS holds the key).

    Raises:
        NotificationError: 422 when the token is not a readable JWT.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, RecursionError):
        # ValueError: an integer claim beyond Python's digit limit, a bad encoding.
        raise NotificationError(
            "field 'url' carries a token that is not a readable JWT", field="url"
        ) from None
    if not isinstance(claims, dict):
        raise NotificationError("field 'url' carries a token without claims", field="url")
    if _lone_surrogate(claims):
        raise NotificationError(
            "field 'url' carries a token whose claims hold a lone UTF-16 surrogate", field="url"
        )
    return claims


def product_id_from_claim(url_claim: str | None) -> int | None:
    """The stable product id: the number after ``/Produtos/`` in the token's ``URL`` claim."""
    if not url_claim:
        return None
    match = _PRODUCT_ID.search(url_claim)
    return int(match.group(1)) if match else None


#: Epoch seconds a token claim may hold (an unverified JWT can carry anything).
_MAX_EPOCH = 2**40


def _epoch_claim(value: Any, claim: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or not (0 <= value < _MAX_EPOCH):  # NaN, infinities, absurd values
        what = "expiry (exp)" if claim == "exp" else f"'{claim}' date"
        raise NotificationError(
            f"field 'url' carries a token whose {what} is impossible", field="url"
        )
    return int(value)


def _check_storable(value: str, name: str) -> None:
    """Refuse text no database stores: lone surrogates (from \\ud800 escapes) and NUL."""
    if "\x00" in value:
        raise NotificationError(f"field '{name}' contains a NUL character", field=name)
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

    token = check_download_url(url, allowed_hosts)
    # What the receiver accepts, the DAG accepts: scheme and host in lower case (the DAG's
    # Param pattern is ^https://), path and query (the token) untouched.
    url = canonical_url(url)
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
    return Notification(
        id=notification_id_of(body),
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
        dataset=slugify(nome, fallback="produto"),
        macroprocesso_slug=slugify(macro, fallback="sem_macroprocesso"),
        token_nbf=nbf,
        token_exp=exp,
        token_url_claim=url_claim,
        token_is_file=is_file,
        flags=tuple(flags),
        extra=extra,
    )
