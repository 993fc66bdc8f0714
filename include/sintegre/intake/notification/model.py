"""The normalised notification (what the inbox stores and the run conf is built from)."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from sintegre.core.runconf import RunConf


REQUIRED_FIELDS = ("nome", "macroProcesso", "periodicidade", "periodicidadeFinal", "url")

_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.~:+-]+")


@dataclass(frozen=True)
class Notification:
    """A validated, normalised notification. ``url`` holds a bearer token: never log it."""

    def __repr__(self) -> str:
        # The dataclass repr would print ``url`` with its bearer token: redacted here, so a
        # repr in a log line, a traceback or a debugger's output never carries it.
        from sintegre.core.redact import redact

        values = ", ".join(f"{f.name}={redact(repr(getattr(self, f.name)))}" for f in fields(self))
        return f"Notification({values})"

    __str__ = __repr__

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
        return self._dag_run_id

    @functools.cached_property
    def _dag_run_id(self) -> str:
        # Cached: an accepted notification needs it three times (row, log line, answer). The
        # instance is frozen, so the value never goes stale (``replace`` makes a new one).
        product = _RUN_ID_UNSAFE.sub("_", self.dataset)[:80] or "produto"
        return f"sintegre__{product}__{self.periodicidade.isoformat()}__{self.id[:12]}"

    def with_changes(self, **changes: Any) -> Notification:
        """A copy with ``changes`` applied: what ``dataclasses.replace`` returns, ~10× faster.

        ``dataclasses.replace`` re-runs the frozen ``__init__`` (one ``object.__setattr__`` per
        field, ~15 µs for these 22); an accepted notification is copied once or twice on the
        receiver's hot path (routing, the unexpected-product flag; issue #17). The copy shares
        the field values (all immutable but ``extra``, which nothing mutates) and drops the
        cached run id, which depends on the fields.

        Raises:
            TypeError: A name in ``changes`` is not a field (as ``dataclasses.replace`` says).
        """
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"Notification has no field(s) {sorted(unknown)}")
        copy = object.__new__(Notification)
        state = copy.__dict__
        state.update(self.__dict__)
        state.pop("_dag_run_id", None)
        state.update(changes)
        return copy

    def to_conf(self) -> dict[str, Any]:
        """The DAG run ``conf``: the notification as sent plus what the receiver derived.

        Built through :class:`sintegre.core.runconf.RunConf`, the one contract the tasks validate.
        """
        return self._run_conf().to_conf()

    def conf_json(self) -> str:
        """:meth:`to_conf` as JSON text (what the inbox stores).

        The receiver writes one per accepted notification, and pydantic's validate-then-dump
        was ~25 µs of it (issue #17): this notification was already validated by
        ``normalize``, more strictly than :class:`RunConf` checks (the URL, the dates, the
        granularity, non-empty texts), so the conf is encoded straight from its values, in
        :class:`RunConf`'s key order with its defaults, by msgspec (the same JSON text,
        ``tests/unit/test_notification_copy.py``). The two values ``normalize`` does not
        produce itself, the slugs (``route`` may set the dataset), are checked against the
        contract's pattern, and every value's type and form is checked (a copy made by
        ``with_changes`` may hold anything): a notification that does not fit goes through
        :class:`RunConf`, which converts or refuses it as it always did.
        """
        if not self._fits_the_contract():
            return self._run_conf().model_dump_json()
        try:
            return _encode_conf({**_conf_defaults(), **self._conf_values()}).decode()
        except UnicodeEncodeError:  # a lone surrogate: RunConf's own refusal
            return self._run_conf().model_dump_json()

    def _fits_the_contract(self) -> bool:
        """Whether every value already has the type and form :class:`RunConf` would give it
        (what ``normalize`` builds always does; a copy made with other values may not)."""
        return (
            all(
                type(text) is str and text
                for text in (
                    self.id,
                    self.nome,
                    self.macro_processo,
                    self.periodicidade_raw,
                    self.periodicidade_final_raw,
                )
            )
            and all(
                text is None or type(text) is str
                for text in (self.processo, self.data_produto, self.token_url_claim)
            )
            and all(
                number is None or type(number) is int
                for number in (self.product_id, self.token_exp, self.token_nbf)
            )
            and (self.token_is_file is None or type(self.token_is_file) is bool)
            and type(self.periodicidade) is date
            and type(self.periodicidade_final) is date
            and self.granularity in _GRANULARITIES
            and all(type(flag) is str for flag in self.flags)
            and type(self.url) is str
            and self.url.startswith("https://")
            and type(self.dataset) is str
            and _SLUG.fullmatch(self.dataset) is not None
            and type(self.macroprocesso_slug) is str
            and _SLUG.fullmatch(self.macroprocesso_slug) is not None
        )

    def _run_conf(self) -> RunConf:
        from sintegre.core.runconf import RunConf

        return RunConf.model_validate(self._conf_values())

    def _conf_values(self) -> dict[str, Any]:
        """The conf's keys that come from the notification (the rest keep their defaults)."""
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

    @classmethod
    def trusted(cls, **values: Any) -> Notification:
        """A notification from every field's value, without the frozen ``__init__``.

        ``normalize`` builds one per webhook body, and the frozen dataclass's ``__init__``
        (one ``object.__setattr__`` per field) took ~8 µs of it (issue #17). Every field must
        be given, as ``normalize`` does; the result equals ``Notification(**values)``.

        Raises:
            TypeError: A field is missing or unknown.
        """
        if values.keys() != _FIELD_NAMES:
            missing, unknown = _FIELD_NAMES - values.keys(), values.keys() - _FIELD_NAMES
            raise TypeError(
                f"Notification.trusted: missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        made = object.__new__(cls)
        made.__dict__.update(values)
        return made


#: Field names, for :meth:`Notification.with_changes` and :meth:`Notification.trusted`.
_FIELD_NAMES = frozenset(f.name for f in fields(Notification))
#: :class:`RunConf`'s slug pattern (``dataset``, ``macroprocesso_slug``).
_SLUG = re.compile(r"[a-z0-9_]+")
#: :data:`sintegre.core.runconf.Granularity`'s values.
_GRANULARITIES = frozenset({"daily", "weekly", "monthly", "other"})
#: msgspec writes dates as ISO text and UTF-8 unescaped, as pydantic's ``model_dump_json``.
_encode_conf = msgspec.json.Encoder().encode


@functools.cache
def _conf_defaults() -> dict[str, Any]:
    """Every :class:`RunConf` key with its default, in the model's order (``None`` if required)."""
    from sintegre.core.runconf import RunConf

    return {
        name: info.get_default(call_default_factory=True) if not info.is_required() else None
        for name, info in RunConf.model_fields.items()
    }


def notification_id_of(body: bytes, sha256_hex: str | None = None) -> str:
    """The receiver's id for a body: its sha256, shortened (a byte-identical repeat shares it).

    Args:
        body: The raw body.
        sha256_hex: The body's sha256 when the caller already has it (not hashed twice).
    """
    return (sha256_hex or hashlib.sha256(body).hexdigest())[:24]
