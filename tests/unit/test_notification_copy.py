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
