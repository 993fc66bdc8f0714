"""The accept path without Flask: ``POST /sintegre/<integration>`` that ends in a 200.

Measured in-process (issue #17), an accepted notification cost ~1.6 ms of CPU, of which
Flask's own machinery (request context, ``g``, URL matching, ``Request``/``Response`` objects,
hooks, ``jsonify``) was ~0.4 ms: a third of the budget that lets the receiver keep up with a
trivial endpoint on two cores. :class:`FastAccept` sits in front of Flask's WSGI app and does
exactly the successful accept, through the very functions the Flask view uses
(:func:`~sintegre.intake.receiver.webhook.prepare`, ``store``, ``log_accepted``, ``answer``):
same authentication, same validation, same durable commit before the answer, same log line,
byte-identical JSON body and headers.

Anything else goes to Flask unchanged, so every refusal, error and probe is answered as it
always was: another method or path, an unknown integration, a chunked body, a missing, zero or
oversized ``Content-Length``, failed authentication, a body ``normalize`` refuses, any
exception. The body already read is put back as ``wsgi.input``, so Flask reads the same bytes.
A request whose store was already tried carries that outcome (``STORE_OUTCOME``) to Flask,
which answers it without storing again: a row is never stored, nor counted, twice, and an
unavailable inbox is not waited for twice.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from sintegre.intake.receiver import webhook
from sintegre.intake.receiver.state import ReceiverState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

__all__ = ["FastAccept"]

_PREFIX = "/sintegre/"
#: Flask answers a view's JSON with these; the fast path's answer must not differ from it.
_STATUS = "200 OK"
_CONTENT_TYPE = ("Content-Type", "application/json")
_ENCODE = msgspec.json.Encoder().encode


class FastAccept:
    """WSGI middleware: accepts valid notifications itself, hands every other request to Flask.

    Args:
        app: The receiver's Flask app (its shared state, JSON settings and body limit are read
            at each request, so a test or an operator changing them is obeyed).
        fallback: Flask's own WSGI callable (``app.wsgi_app`` before wrapping).
    """

    def __init__(self, app: Flask, fallback: WSGIApplication) -> None:
        self.app = app
        self.fallback = fallback

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a valid notification's POST; anything else is Flask's."""
        started = time.perf_counter()
        # Cheap tests first: only a POST to /sintegre/<known integration> with a plain,
        # bounded body is ours. Flask's route has no slash inside <integration>, and
        # integration names are [A-Za-z0-9_-] only, so a dict hit is exactly a route match.
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(_PREFIX):
            return self.fallback(environ, start_response)
        shared: ReceiverState = self.app.extensions["sintegre"]["state"]
        integration = path[len(_PREFIX) :]
        config = shared.integrations.get(integration)
        length = self._plain_length(environ)
        if (
            config is None
            or length is None
            # The debug (indented) JSON answer is Flask's to write.
            or self.app.debug
            or getattr(self.app.json, "compact", None) is False
        ):
            return self.fallback(environ, start_response)
        try:
            accepted = config.authenticate(environ.get("HTTP_AUTHORIZATION"))
            body = environ["wsgi.input"].read(length) if accepted else b""
        except Exception:  # Flask meets the same fault on its own and answers as it always did
            return self.fallback(environ, start_response)
        if not accepted:  # the 401 and its trace are Flask's (nothing was read)
            return self.fallback(environ, start_response)
        try:
            if len(body) != length:  # the client went away mid-body: Flask says what it says
                return self._hand_over(environ, start_response, body)
            prepared = webhook.prepare(body, config, shared.settings)
        except Exception:  # a refusal (NotificationError) or a fault: Flask answers it as ever
            return self._hand_over(environ, start_response, body)
        try:
            stored = webhook.store(shared.inbox, integration, body, prepared)
        except Exception as exc:  # Flask answers this outcome (422, 503) without storing again
            return self._hand_over(environ, start_response, body, outcome=exc)
        try:
            payload = self._answer_bytes(webhook.answer(stored, prepared))
            webhook.log_accepted(
                stored,
                prepared,
                integration,
                path=path,
                remote=environ.get("REMOTE_ADDR"),
                started=started,
            )
        except Exception:  # stored and committed: Flask answers the stored outcome
            return self._hand_over(environ, start_response, body, outcome=stored)
        # Answered only now: the row was committed by ``store`` above.
        start_response(_STATUS, [_CONTENT_TYPE, ("Content-Length", str(len(payload)))])
        return [payload]

    def _answer_bytes(self, answer: dict[str, Any]) -> bytes:
        """The 200's body, byte for byte what ``jsonify`` writes with the app's JSON settings.

        With the receiver's settings (``ensure_ascii`` and ``sort_keys`` off, compact), msgspec
        writes the same bytes for text that needs no escape, in a fifth of ``json``'s time:
        the answer holds hex ids, statuses and run ids, so in practice always. Anything else
        (other settings, a backslash or a non-ASCII character in the output) takes Flask's own
        serialiser.
        """
        provider = self.app.json
        if (
            getattr(provider, "ensure_ascii", None) is False
            and getattr(provider, "sort_keys", None) is False
        ):
            payload = _ENCODE(answer)
            if payload.isascii() and b"\\" not in payload:
                return payload + b"\n"
        # The same serialiser and settings as ``jsonify`` (ensure_ascii, sort_keys, compact
        # separators, trailing newline): the bytes are Flask's.
        text = provider.dumps(answer, separators=(",", ":"))
        return f"{text}\n".encode()

    def _plain_length(self, environ: WSGIEnvironment) -> int | None:
        """The body's length when it is a plain one within Flask's limit, else ``None``.

        Chunked bodies, a missing, non-numeric or zero ``Content-Length``, and bodies over
        ``MAX_CONTENT_LENGTH`` (Flask's 413) are left to Flask.
        """
        if environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        declared = environ.get("CONTENT_LENGTH") or ""
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if not (declared.isascii() and declared.isdigit()) or limit is None:
            return None
        length = int(declared)
        return length if 0 < length <= limit else None

    def _hand_over(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        body: bytes,
        *,
        outcome: Any = None,
    ) -> Iterable[bytes]:
        """Let Flask answer, with the body already read and the store's outcome, if any."""
        environ["wsgi.input"] = io.BytesIO(body)
        if outcome is not None:
            environ[webhook.STORE_OUTCOME] = outcome
        return self.fallback(environ, start_response)
