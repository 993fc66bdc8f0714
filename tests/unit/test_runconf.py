"""The run conf: one contract from the receiver (or a tool) to the DAG's tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.webhook import ONS_HOST, make_payload, ons_url, to_body
from sintegre.core.runconf import RunConf, RunConfError, params_schema
from sintegre.ingest.pipeline import ConfError, check_conf
from sintegre.intake.notification import normalize


def _conf() -> dict:
    body = to_body(make_payload(url=ons_url()))
    return normalize(body, allowed_hosts=(ONS_HOST,)).to_conf()


def test_the_webhook_conf_round_trips_through_the_contract() -> None:
    conf = _conf()
    typed = RunConf.from_conf(conf)
    assert typed.periodicidade_date == dt.date(2025, 4, 29)
    assert typed.dataset == "acomph" and typed.granularity == "daily"
    assert typed.to_conf() == conf


def test_a_misspelt_key_is_an_error_naming_it_not_a_silent_none() -> None:
    conf = _conf()
    conf["macroprocesso_slg"] = conf.pop("macroprocesso_slug")
    with pytest.raises(
        RunConfError,
        match=r"macroprocesso_slug: Field required.*"
        r"macroprocesso_slg: Extra inputs are not permitted",
    ):
        RunConf.from_conf(conf)
    with pytest.raises(ConfError, match="macroprocesso_slug"):
        check_conf(conf)


def test_bad_values_are_named() -> None:
    conf = {**_conf(), "url": "http://x", "granularity": "hourly", "periodicidade_date": "29/04"}
    with pytest.raises(RunConfError) as raised:
        RunConf.from_conf(conf)
    for key in ("url", "granularity", "periodicidade_date"):
        assert f"{key}:" in str(raised.value)


def test_the_dag_params_come_from_the_same_schema() -> None:
    schema = params_schema()
    assert set(schema) == set(RunConf.model_fields)
    assert schema["url"]["schema"]["pattern"] == "^https://"
    assert schema["dataset"]["required"] and schema["dataset"]["schema"]["pattern"]
    assert schema["flags"]["default"] == [] and not schema["flags"]["required"]
    assert schema["granularity"]["schema"]["enum"] == ["daily", "weekly", "monthly", "other"]
