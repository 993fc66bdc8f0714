"""A small client for Airflow 3's REST API v2 (JWT from ``/auth/token``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from sintegre.core.redact import redact

log = logging.getLogger(__name__)


class AirflowUnavailable(RuntimeError):
    """Airflow did not answer, or answered 5xx: try again later."""


class AirflowRejected(RuntimeError):
    """Airflow answered a 4xx other than 401/409 (for instance the DAG is not parsed yet)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Airflow answered {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class TriggerResult:
    """The outcome of a trigger: ``created`` or ``exists`` (409: already there = success)."""

    outcome: str
    dag_run_id: str


class AirflowClient:
    """Talks to one Airflow API server; renews its JWT when Airflow answers 401."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None

    def _fetch_token(self) -> str:
        try:
            response = self.session.post(
                f"{self.base_url}/auth/token",
                json={"username": self.user, "password": self.password},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise AirflowUnavailable(f"cannot reach Airflow at {self.base_url}: {exc}") from None
        if response.status_code >= 500:
            raise AirflowUnavailable(f"Airflow /auth/token answered {response.status_code}")
        if response.status_code not in (200, 201):
            raise AirflowRejected(
                response.status_code, "login refused (check AIRFLOW_USER / AIRFLOW_PASSWORD)"
            )
        token: str = response.json()["access_token"]
        return token

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in range(2):
            if self._token is None:
                self._token = self._fetch_token()
            try:
                response = self.session.request(
                    method,
                    f"{self.base_url}{path}",
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=self.timeout,
                    **kwargs,
                )
            except requests.RequestException as exc:
                raise AirflowUnavailable(
                    f"cannot reach Airflow at {self.base_url}: {exc}"
                ) from None
            if response.status_code in (401, 403) and attempt == 0:
                # JWTs expire (24 h by default) and a restarted Airflow may have a new secret:
                # Airflow answers 401, or 403 "Invalid JWT token". A fresh one is one login away.
                self._token = None
                continue
            if response.status_code >= 500:
                text = redact(response.text[:200])
                raise AirflowUnavailable(
                    f"Airflow answered {response.status_code} to {method} {path}: {text}"
                )
            return response
        raise AirflowRejected(response.status_code, _detail(response))

    def trigger(
        self, dag_id: str, dag_run_id: str, conf: dict[str, Any], *, note: str | None = None
    ) -> TriggerResult:
        """Create a DAG run; an existing run with the same id counts as success.

        Raises:
            AirflowUnavailable: connection error or 5xx (retry later).
            AirflowRejected: any other refusal, with Airflow's explanation.
        """
        body: dict[str, Any] = {"dag_run_id": dag_run_id, "logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        response = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        if response.status_code in (200, 201):
            return TriggerResult("created", dag_run_id)
        if response.status_code == 409:
            return TriggerResult("exists", dag_run_id)
        raise AirflowRejected(response.status_code, _detail(response))

    def dag_run_state(self, dag_id: str, dag_run_id: str) -> str | None:
        """The run's state (``queued``, ``running``, ``success``, ``failed``), None if unknown."""
        response = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise AirflowRejected(response.status_code, _detail(response))
        run_state: str | None = response.json().get("state")
        return run_state

    def task_instances(self, dag_id: str, dag_run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run as Airflow describes it (state, start, end, try)."""
        response = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances")
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise AirflowRejected(response.status_code, _detail(response))
        return list(response.json().get("task_instances", []))

    def xcom(self, dag_id: str, dag_run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value, or None when absent."""
        response = self._request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true", "stringify": "false"},
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise AirflowRejected(response.status_code, _detail(response))
        return response.json().get("value")


def _detail(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return redact(response.text[:300])
    detail = payload.get("detail", payload) if isinstance(payload, dict) else payload
    return redact(str(detail)[:300])
