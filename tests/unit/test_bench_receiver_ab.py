"""The receiver A/B tool's own parts: variant specs and the CPU read from /proc."""

from __future__ import annotations

import os
import time

import pytest
from bench.receiver_ab import parse_variant, session_cpu


def test_a_variant_names_its_environment() -> None:
    assert parse_variant("base=") == ("base", {})
    assert parse_variant("off=SINTEGRE_INBOX_SYNCHRONOUS=OFF,X=a=b") == (
        "off",
        {"SINTEGRE_INBOX_SYNCHRONOUS": "OFF", "X": "a=b"},
    )
    with pytest.raises(ValueError, match="needs a name"):
        parse_variant("=X=1")


def test_session_cpu_counts_this_session_and_grows_with_work() -> None:
    session = os.getsid(0)
    before = session_cpu(session)
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = session_cpu(session)
    assert after - before >= 0.2
    assert session_cpu(2**22 + 12345) == 0  # no such session
