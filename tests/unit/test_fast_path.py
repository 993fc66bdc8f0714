"""The receiver's fast path answers exactly as Flask does, and leaves everything else to Flask.

Each test sends the same request to two receivers built alike: one as ``create_app`` wires it
(the fast path in front of Flask), one with Flask alone (the fast path unwrapped). A spy on the
fast path's fallback says which of them answered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from helpers.webhook import (
    ONS_HOST,
    WEBHOOK_PASSWORD,
    WEBHOOK_USER,
    basic,
    make_payload,
    ons_url,
    to_body,
)
from sintegre.core.logs import JsonFormatter
from sintegre.core.settings import load_settings
from sintegre.intake.inbox import InboxRefused, InboxUnavailable
from sintegre.intake.receiver import _log_request, _start_timer, create_app, webhook
from sintegre.intake.receiver.fast_path import FastAccept

AUTH = basic(WEBHOOK_USER, WEBHOOK_PASSWORD)
#: Columns that hold the moment of the store (differ between two receivers by design).
_CLOCK_COLUMNS = {"received_at", "updated_at", "next_attempt_at"}
#: Log fields that hold the moment or the duration.
_CLOCK_FIELDS = {"ts", "duration_ms"}


class Receiver:
    """One receiver app on its own inbox, with a spy on what reaches Flask."""

    def __init__(self, root: Path, *, fast: bool, **env: str) -> None:
        settings = load_settings(
            {
                "SINTEGRE_STATE_DIR": str(root / "state"),
                "LAKE_URI": str(root / "lake"),
                "SINTEGRE_WEBHOOK_AUTH": "basic",
                "SINTEGRE_WEBHOOK_USER": WEBHOOK_USER,
                "SINTEGRE_WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
                "SINTEGRE_ALLOWED_DOWNLOAD_HOSTS": ONS_HOST,
                **env,
            }
        )
        self.app: Flask = create_app(settings)
        self.app.config["TESTING"] = True
        front = self.app.wsgi_app
        assert isinstance(front, FastAccept)
        flask_itself = front.fallback
        self.reached_flask = 0

        def spy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.reached_flask += 1
            return flask_itself(environ, start_response)

        front.fallback = spy
        # Flask alone: its own WSGI callable, behind the same spy.
        self.app.wsgi_app = front if fast else spy  # type: ignore[method-assign]
        self.client = self.app.test_client()
        self.inbox = self.app.extensions["sintegre"]["inbox"]

    def post(self, body: bytes, *, auth: str | None = AUTH, path: str = "default", **kw: Any):
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        if auth is not None:
            headers["Authorization"] = auth
        return self.client.post(f"/sintegre/{path}", data=body, headers=headers, **kw)

    def row(self, notification_id: str) -> dict[str, Any]:
        row = self.inbox.get(notification_id)
        assert row is not None
        return {k: v for k, v in row.items() if k not in _CLOCK_COLUMNS}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Receiver, Receiver]]:
    """(with the fast path, Flask alone), each on its own inbox."""
    fast = Receiver(tmp_path / "fast", fast=True)
    flask_only = Receiver(tmp_path / "flask", fast=False)
    yield fast, flask_only
    fast.inbox.dispose()
    flask_only.inbox.dispose()


def _log_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    """The JSON log lines of the receiver's records, without their clock fields."""
    formatter = JsonFormatter()
    lines = []
    for record in records:
        if record.name != "sintegre.intake.receiver":
            continue
        line = json.loads(formatter.format(record))
        assert set(line) >= _CLOCK_FIELDS - {"duration_ms"}
        lines.append({k: v for k, v in line.items() if k not in _CLOCK_FIELDS})
    return lines


def _answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, response.get_data(), headers


@pytest.mark.drill(
    "#17 fast path: a valid notification, a repeat and an unexpected product answer "
    "byte for byte as through Flask (status, headers, JSON, log line, inbox row)"
)
def test_accepts_answer_exactly_as_flask_does(tmp_path, caplog) -> None:
    """expected: the same status, headers and JSON bytes, the same log line and the same row."""
    caplog.set_level(logging.INFO, logger="sintegre.intake.receiver")
    secret = tmp_path / "webhook_password"
    secret.write_text(WEBHOOK_PASSWORD)
    credentials = f"[{{user: {WEBHOOK_USER}, password: {{file: {secret}}}}}]"
    listed = tmp_path / "integrations.yaml"
    listed.write_text(
        "integrations:\n"
        f"  - name: default\n    auth: basic\n    credentials: {credentials}\n"
        f"  - name: listed\n    auth: basic\n    credentials: {credentials}\n"
        "    expected_products: [999]\n"
    )
    env = {"SINTEGRE_INTEGRATIONS_FILE": str(listed)}
    fast = Receiver(tmp_path / "fast", fast=True, **env)
    flask_only = Receiver(tmp_path / "flask", fast=False, **env)
    new = to_body(make_payload(url=ons_url(nbf=1_900_000_001)))
    unexpected = to_body(make_payload(url=ons_url(nbf=1_900_000_002)))
    # A body with no processo and an extra key: the flags travel the same way.
    flagged = to_body({**make_payload(url=ons_url(nbf=1_900_000_003), processo=None), "x": 1})
    requests = [(new, "default"), (new, "default"), (unexpected, "listed"), (flagged, "default")]
    seen = []
    for receiver in (fast, flask_only):
        caplog.clear()
        answers = [_answer(receiver.post(body, path=path)) for body, path in requests]
        ids = [json.loads(body)["id"] for _, body, _ in answers]
        seen.append((answers, _log_lines(caplog.records), [receiver.row(i) for i in ids]))
    assert fast.reached_flask == 0  # every one answered by the fast path
    assert flask_only.reached_flask == len(requests)
    assert seen[0] == seen[1]
    answers, lines, _ = seen[0]
    assert [json.loads(body)["status"] for _, body, _ in answers] == [
        "received",
        "duplicate",
        "received",
        "received",
    ]
    assert "unexpected_product" in json.loads(answers[2][1])["flags"]
    assert {line["event"] for line in lines} == {"notification"}
    assert all(line["path"].startswith("/sintegre/") for line in lines)
    counters = [r.inbox.counter_values() for r in (fast, flask_only)]
    assert counters[0] == counters[1] == {"accepted": 3, "duplicate": 1}
    fast.inbox.dispose()
    flask_only.inbox.dispose()


def _refusals(receiver: Receiver) -> list[tuple[int, str, str | None]]:
    receiver.app.extensions["sintegre"]["refusals"].flush()
    return [(r["status"], r["reason"], r["excerpt"]) for r in receiver.inbox.recent_refusals()]


DECLINED: dict[str, dict[str, Any]] = {
    "wrong password": {"auth": basic(WEBHOOK_USER, "wrong")},
    "no credentials": {"auth": None},
    "unknown integration": {"path": "nope"},
    "a path below an integration": {"path": "default/more"},
    "unreadable body": {"body": b"{broken"},
    "a field refused": {"body": to_body(make_payload(nome=None))},
    "a URL off the allowlist": {"body": to_body(make_payload(url=ons_url(host="evil.example")))},
    "an empty body": {"body": b""},
    "a body over the limit": {"body": b"{" + b" " * 300_000 + b"}"},
    "a chunked body": {"headers": {"Transfer-Encoding": "chunked"}},
}


@pytest.mark.parametrize("case", DECLINED)
def test_what_the_fast_path_declines_reaches_flask_and_is_answered_as_ever(pair, case) -> None:
    """expected: Flask answers it (the same status, headers, JSON and refusal trace)."""
    options = dict(DECLINED[case])
    body = options.pop("body", to_body(make_payload(url=ons_url(nbf=1_900_000_009))))
    results = []
    for receiver in pair:
        response = receiver.post(body, **options)
        results.append((_answer(response), _refusals(receiver), receiver.inbox.count()))
        assert receiver.reached_flask == 1
    assert results[0] == results[1]
    assert 400 <= results[0][0][0] < 500


def test_probes_other_methods_and_pages_reach_flask(pair) -> None:
    fast, flask_only = pair
    for receiver in pair:
        assert receiver.client.get("/sintegre/default").status_code == 200
        assert receiver.client.get("/healthz").status_code == 200
        assert receiver.client.put("/sintegre/default", data=b"{}").status_code == 405
    assert fast.reached_flask == flask_only.reached_flask == 3


def _environ(body: bytes, **overrides: Any) -> dict[str, Any]:
    builder = EnvironBuilder(
        path="/sintegre/default",
        method="POST",
        data=body,
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )
    environ = builder.get_environ()
    builder.close()
    environ.update(overrides)
    return environ


@pytest.mark.parametrize(
    "length",
    [None, "", "abc", "-5", "١٢"],  # absent, empty, not a number, negative, non-ASCII digits
    ids=["absent", "empty", "text", "negative", "arabic-digits"],
)
def test_a_missing_or_odd_content_length_is_left_to_flask(pair, length) -> None:
    """expected: Flask reads the body as it always did; the answer is the same."""
    body = to_body(make_payload(url=ons_url(nbf=1_900_000_010)))
    results = []
    for receiver in pair:
        environ = _environ(body)
        if length is None:
            del environ["CONTENT_LENGTH"]
        else:
            environ["CONTENT_LENGTH"] = length
        iterable, status, headers = run_wsgi_app(receiver.app.wsgi_app, environ)
        results.append((status, b"".join(iterable), headers.get("Content-Type")))
        assert receiver.reached_flask == 1
    assert results[0] == results[1]
    assert not results[0][0].startswith("5")


def test_debug_mode_answers_through_flask(pair) -> None:
    """Flask indents its JSON in debug mode: such answers are Flask's to write."""
    fast, flask_only = pair
    fast.app.debug = flask_only.app.debug = True
    body = to_body(make_payload(url=ons_url(nbf=1_900_000_011)))
    answers = [_answer(r.post(body)) for r in pair]
    assert fast.reached_flask == 1
    assert answers[0] == answers[1] and b"\n  " in answers[0][1]


@pytest.mark.drill(
    "#17 fast path: a store that fails (inbox unavailable, refused, a bug) is answered by Flask "
    "as before (503, 422, 503 counted), and never tried twice"
)
@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (InboxUnavailable("disk full"), 503),
        (InboxRefused("cannot bind"), 422),
        (RuntimeError("a bug nobody foresaw"), 503),
    ],
    ids=["unavailable", "refused", "bug"],
)
def test_a_failed_store_is_answered_by_flask_without_a_second_try(
    pair, monkeypatch, failure, status
) -> None:
    """expected: the same answer as Flask alone gives, with the store tried once."""
    body = to_body(make_payload(url=ons_url(nbf=1_900_000_012)))
    results = []
    for receiver in pair:
        calls = []

        def failing(*args: Any, calls: list[int] = calls, **kwargs: Any) -> Any:
            calls.append(1)
            raise failure

        monkeypatch.setattr(receiver.inbox, "store", failing)
        response = receiver.post(body)
        results.append((_answer(response), _refusals(receiver), receiver.inbox.counter_values()))
        assert len(calls) == 1  # the fast path's try is the only one
        assert receiver.reached_flask == 1
    assert results[0] == results[1]
    assert results[0][0][0] == status


def test_a_fault_while_authenticating_is_answered_by_flask(pair, monkeypatch) -> None:
    """Whatever Flask answers for it (a 503 counted as internal_error), never a bare 500."""
    from sintegre.intake.receiver.integrations import Integration

    def broken(self: Integration, authorization: str | None) -> bool:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr(Integration, "authenticate", broken)
    body = to_body(make_payload(url=ons_url(nbf=1_900_000_014)))
    answers = [_answer(r.post(body)) for r in pair]
    assert answers[0] == answers[1] and answers[0][0] == 503
    assert [r.reached_flask for r in pair] == [1, 1]
    assert [r.inbox.count() for r in pair] == [0, 0]


def test_a_fault_after_the_commit_is_answered_by_flask_with_the_stored_outcome(
    pair, monkeypatch
) -> None:
    """The row is committed: Flask answers 200 for it, without storing (nor counting) again."""
    fast, _ = pair
    real = webhook.log_accepted
    failures = []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise OSError("the log's disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(webhook, "log_accepted", fails_once)
    response = fast.post(to_body(make_payload(url=ons_url(nbf=1_900_000_013))))
    assert response.status_code == 200 and response.get_json()["status"] == "received"
    assert fast.reached_flask == 1
    assert fast.inbox.count() == 1
    assert fast.inbox.counter_values() == {"accepted": 1}


def test_flask_has_no_request_hook_the_fast_path_would_skip(app) -> None:
    """The fast path bypasses Flask's hooks: one added here must be mirrored in fast_path.py
    (or make it decline), and this test updated."""
    assert app.before_request_funcs == {None: [_start_timer]}
    assert app.after_request_funcs == {None: [_log_request]}
    assert not any(app.teardown_request_funcs.values())
    assert not any(app.url_value_preprocessors.values())


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "ab12", "status": "received", "dag_id": "sintegre_acomph", "flags": []},
        {"id": "ab12", "status": "duplicate", "dag_id": None, "flags": ["a", "b"]},
        {"id": "ab12", "dag_id": "ação", "flags": ["x"]},  # non-ASCII: Flask's serialiser
        {"id": 'a"b\\c', "dag_id": "tab\there\x7f", "flags": ["\u2028"]},  # escapes
    ],
)
@pytest.mark.parametrize("settings", [(False, False), (True, False), (False, True)])
def test_the_answer_bytes_are_what_jsonify_writes(
    tmp_path, answer: dict[str, Any], settings: tuple[bool, bool]
) -> None:
    # msgspec writes the receiver's answers (issue #17); with other JSON settings or text that
    # needs escaping, Flask's own serialiser does: either way the bytes are jsonify's.
    receiver = Receiver(tmp_path, fast=True)
    app = receiver.app
    app.json.ensure_ascii, app.json.sort_keys = settings  # type: ignore[attr-defined]
    front = FastAccept(app, lambda environ, start_response: [])
    with app.app_context():
        expected = app.json.response(answer).get_data()
    assert front._answer_bytes(answer) == expected
    receiver.inbox.dispose()
