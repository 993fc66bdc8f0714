"""A stand-in for Airflow's REST API, for the pages that ask Airflow about runs."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class FakeAirflowBase(BaseHTTPRequestHandler):
    """A stand-in for Airflow's REST API: answers the JWT login; subclasses answer GETs."""

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json(201, {"access_token": "jwt"})
