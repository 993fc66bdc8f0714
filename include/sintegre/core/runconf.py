"""The run conf: the one typed contract between the receiver (or a tool) and the DAG's tasks.

Every conf a DAG run receives is built by :class:`RunConf` (the webhook through
``Notification.to_conf``, ``make ingest-file``, reprocessing, tests) and validated by it when a
task starts (``RunConf.from_conf``): a misspelt or missing key is an error naming it, never a
silent ``None``. The DAG's Params are generated from the same model's JSON schema, so the
Airflow UI's trigger form and the tasks agree on every key.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["Granularity", "RunConf", "RunConfError", "params_schema"]

_SLUG = r"^[a-z0-9_]+$"

# A delivery's period: one day, a Saturday–Friday week, a calendar month, or anything else.
Granularity = Literal["daily", "weekly", "monthly", "other"]


class RunConfError(ValueError):
    """A conf that does not fit the contract; the message names every offending key."""


class RunConf(BaseModel):
    """One delivery to ingest, as the DAG's tasks read it.

    Key names follow ONS's payload where they come from it (``nome``, ``macroProcesso``…) so
    an operator recognises them in the Airflow UI.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: str = Field(min_length=1, description="Receiver's id")
    nome: str = Field(min_length=1, description="Product name as sent")
    processo: str | None = None
    dataProduto: str | None = None
    macroProcesso: str = Field(min_length=1)
    periodicidade: str = Field(min_length=1)
    periodicidadeFinal: str = Field(min_length=1)
    url: str | None = Field(
        default=None,
        pattern=r"^https://",
        description="SINtegre proxy URL (the token redacted in Airflow); none for a manual file",
    )
    product_id: int | None = None
    dataset: str = Field(pattern=_SLUG)
    macroprocesso_slug: str = Field(pattern=_SLUG)
    periodicidade_date: date
    periodicidade_final_date: date
    granularity: Granularity = "other"
    token_exp: int | None = None
    token_nbf: int | None = Field(default=None, description="Delivery instant")
    token_url_claim: str | None = None
    token_is_file: bool | None = None
    flags: list[str] = Field(default_factory=list)
    raw_path: str | None = Field(default=None, description="Copy rescued by the forwarder")
    reprocess_of: str | None = Field(
        default=None, description="The notification a reprocess re-reads (sintegre_reprocess)"
    )

    def __repr_args__(self) -> Any:
        # ``url`` may hold the bearer token (a conf built from the inbox): never in a repr.
        from sintegre.core.redact import redact

        for name, value in super().__repr_args__():
            yield name, redact(value) if name == "url" and isinstance(value, str) else value

    @classmethod
    def from_conf(cls, conf: dict[str, Any]) -> RunConf:
        """Validate a conf dict (a DAG run's ``params``).

        Raises:
            RunConfError: Naming each missing, unknown or malformed key.
        """
        try:
            return cls.model_validate(conf)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or 'conf'}: {item['msg']}"
                for item in exc.errors()
            )
            raise RunConfError(f"the run conf does not fit the contract: {problems}") from None

    def to_conf(self) -> dict[str, Any]:
        """The JSON-able dict Airflow stores (dates as ISO strings)."""
        return self.model_dump(mode="json")


def params_schema() -> dict[str, dict[str, Any]]:
    """Per key, the JSON schema of its value and its default: what the DAG's Params need."""
    schema = RunConf.model_json_schema()
    required = set(schema.get("required", []))
    out: dict[str, dict[str, Any]] = {}
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        prop.pop("default", None)
        default = RunConf.model_fields[name].get_default(call_default_factory=True)
        if "anyOf" in prop:  # Optional[X]: a list of JSON types, as Airflow's form expects
            types = [option.get("type") for option in prop["anyOf"]]
            if all(isinstance(t, str) for t in types):
                merged = {k: v for option in prop.pop("anyOf") for k, v in option.items()}
                merged["type"] = types
                prop = {**merged, **prop}
        out[name] = {"schema": prop, "default": default, "required": name in required}
    return out
