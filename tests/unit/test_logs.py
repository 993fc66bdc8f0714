"""sintegre.core.logs.info_json: logging's own line, written directly only where nothing differs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Run in a child: configure_logging() changes the process's root logger.
CHILD = """
import datetime, json, logging, sys
from sintegre.core import logs
from sintegre.core.logs import configure_logging, info_json, _own_json_handler

configure_logging("INFO", "json")
log = logging.getLogger("sintegre.intake.receiver")
CASES = {
    "plain": ("notification abc (Acomph, 29/04/2025, 2025-04-29) for default: received",
              {"event": "notification", "status": 200, "duration_ms": 1.5, "remote": None,
               "ok": True}),
    "percent and unicode": ("100% Condições (ção) \u00e9", {"path": "/sintegre/a%20b"}),
    "secrets": ("see https://h/x?token=abc.def.ghi and ana@ons.org.br",
                {"url": "https://apps08.ons.org.br/p?token=eyJabcdef.eyJabcdef.sig",
                 "who": "joao@example.com"}),
    "not plain": ("dates", {"when": datetime.date(2025, 4, 29), "pair": (1, "a")}),
}
"""


def run_child(body: str) -> list[str]:
    """The child's stderr lines (its log) after CHILD and ``body``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", CHILD + textwrap.dedent(body)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if line.strip()]


def without_ts(line: str) -> dict:
    entry = json.loads(line)
    assert entry.pop("ts")[-6:] == "+00:00"
    return entry


def test_the_direct_line_is_byte_for_byte_logging_s_own():
    lines = run_child(
        """
        assert _own_json_handler(log) is logging.getLogger().handlers[0]
        for message, fields in CASES.values():
            info_json(log, message, fields)  # direct
            log.info(message, extra=fields)  # logging's machinery
        """
    )
    assert len(lines) == 2 * 4
    for direct, generic in zip(lines[::2], lines[1::2], strict=True):
        # Same bytes once the timestamps (a few µs apart) are set aside.
        assert direct.split('"level"', 1)[1] == generic.split('"level"', 1)[1]
        assert without_ts(direct) == without_ts(generic)
    joined = "\n".join(lines)
    for secret in ("abc.def.ghi", "eyJabcdef", "ana@ons.org.br", "joao@example.com"):
        assert secret not in joined


@pytest.mark.parametrize(
    ("setup", "reaches_stderr"),
    [
        ("logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))", True),  # caplog
        ("logging.getLogger('sintegre').addHandler(logging.StreamHandler(sys.stdout))", True),
        ("logging.getLogger('sintegre.intake').propagate = False", False),
        ("logging.getLogger().handlers[0].setFormatter(logging.Formatter('%(message)s'))", True),
        ("logging.setLogRecordFactory(lambda *a, **k: logging.LogRecord(*a, **k))", True),
        ("log.addFilter(lambda record: True)", True),
    ],
)
def test_any_other_logging_setup_gets_logging_itself(setup, reaches_stderr):
    lines = run_child(
        f"""
        {setup}
        assert _own_json_handler(log) is None
        calls = []
        real = log.info
        log.info = lambda *a, **k: (calls.append(a), real(*a, **k))
        info_json(log, *CASES["plain"])
        assert calls == [(CASES["plain"][0],)], calls
        """
    )
    assert bool(lines) is reaches_stderr  # as logging itself decides


def test_a_level_above_info_writes_nothing():
    lines = run_child(
        """
        log.setLevel(logging.WARNING)
        info_json(log, *CASES["plain"])
        logging.getLogger().setLevel(logging.WARNING)
        log.setLevel(logging.NOTSET)
        info_json(log, *CASES["plain"])
        """
    )
    assert lines == []


def test_a_field_logging_would_refuse_is_refused_the_same_way():
    lines = run_child(
        """
        for fields in ({"message": "x"}, {"name": "x"}):
            try:
                info_json(log, "m", fields)
            except KeyError as exc:
                print("KeyError", exc, file=sys.stderr)
        """
    )
    assert [line.split()[0] for line in lines] == ["KeyError", "KeyError"]
