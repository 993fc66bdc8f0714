"""The receiver's fast copies of a notification say what ``dataclasses.replace`` and
``json.dumps(to_conf())`` say (issue #17 replaced them on the hot path)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers.webhook import ONS_HOST, make_payload, to_body
from sintegre.intake.notification import Notification, normalize


@pytest.fixture
def notification() -> Notification:
    return normalize(to_body(make_payload()), allowed_hosts=(ONS_HOST,))


def test_with_changes_is_dataclasses_replace(notification: Notification) -> None:
    before = notification.dag_run_id()
    changes = {"dataset": "outro", "flags": ("x",), "product_id": 7}
    fast = notification.with_changes(**changes)
    assert fast == dataclasses.replace(notification, **changes)
    assert type(fast) is Notification
    # The run id is derived from the fields: the copy computes its own.
    assert fast.dag_run_id() != before and "outro" in fast.dag_run_id()
    assert notification.dag_run_id() == before and notification.dataset != "outro"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.dataset = "y"  # type: ignore[misc]


def test_with_changes_refuses_an_unknown_field(notification: Notification) -> None:
    with pytest.raises(TypeError, match="no field"):
        notification.with_changes(datasett="x")


def test_conf_json_is_the_conf(notification: Notification) -> None:
    with_flags = notification.with_changes(flags=("unexpected_product",), processo="Ação")
    for one in (notification, with_flags):
        assert json.loads(one.conf_json()) == one.to_conf()


def test_conf_json_is_pydantics_own_text(notification: Notification) -> None:
    """The inbox's conf text is byte for byte what ``RunConf.model_dump_json`` writes."""
    variants = [
        notification,
        notification.with_changes(flags=("unexpected_product", "extra_keys"), processo="Ação"),
        notification.with_changes(processo=None, data_produto=None, product_id=None),
        notification.with_changes(nome='Nome "entre aspas" \\ e\ttab', token_is_file=False),
        notification.with_changes(token_exp=None, token_nbf=None, token_url_claim=None),
    ]
    for one in variants:
        assert one.conf_json() == one._run_conf().model_dump_json()


def test_conf_json_goes_through_the_contract_when_a_slug_breaks_it(
    notification: Notification,
) -> None:
    from pydantic import ValidationError

    for bad in ({"dataset": "Não-slug"}, {"macroprocesso_slug": ""}, {"url": "http://x/?t=1"}):
        with pytest.raises(ValidationError):
            notification.with_changes(**bad).conf_json()


def test_the_slug_pattern_is_the_contracts() -> None:
    from sintegre.core.runconf import RunConf
    from sintegre.intake.notification import model

    for name in ("dataset", "macroprocesso_slug"):
        pattern = next(
            m.pattern for m in RunConf.model_fields[name].metadata if hasattr(m, "pattern")
        )
        assert pattern == f"^{model._SLUG.pattern}$"


def test_trusted_is_the_dataclass(notification: Notification) -> None:
    values = {f.name: getattr(notification, f.name) for f in dataclasses.fields(notification)}
    made = Notification.trusted(**values)
    assert made == Notification(**values) and type(made) is Notification
    assert made.dag_run_id() == notification.dag_run_id()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.nome = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing"):
        Notification.trusted(**{k: v for k, v in values.items() if k != "nome"})
    with pytest.raises(TypeError, match="unknown"):
        Notification.trusted(**values, nomee="x")


@pytest.mark.parametrize(
    "changes",
    [
        {"nome": ""},
        {"id": ""},
        {"granularity": "yearly"},
        {"token_url_claim": 5},
        {"flags": ("x", 1)},
        {"product_id": "5"},
        {"product_id": 5.0},
        {"token_exp": True},
        {"token_exp": 1.0},
        {"token_is_file": 1},
        {"nome": "\ud800"},
        {"periodicidade": "2025-04-29"},
        {"dataset": 7},
    ],
    ids=repr,
)
def test_a_copy_holding_other_values_gets_the_contracts_own_answer(
    notification: Notification, changes: dict
) -> None:
    """What ``with_changes`` may put in a copy, ``conf_json`` converts or refuses as RunConf does
    (the fast encoding is only for values that already fit; review of issue #17's change)."""
    from pydantic import ValidationError

    copy = notification.with_changes(**changes)
    try:
        expected = copy._run_conf().model_dump_json()
    except ValidationError:
        with pytest.raises(ValidationError):
            copy.conf_json()
        return
    assert copy.conf_json() == expected


def test_the_fast_conf_knows_every_key_and_granularity_of_the_contract() -> None:
    import typing

    from sintegre.core.runconf import Granularity, RunConf
    from sintegre.intake.notification import model

    assert list(model._conf_defaults()) == list(RunConf.model_fields)
    assert set(typing.get_args(Granularity)) == model._GRANULARITIES
