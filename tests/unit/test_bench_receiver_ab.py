"""The receiver A/B tool's own parts: variant specs and the CPU read from /proc."""

from __future__ import annotations

import subprocess
import sys
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


def test_session_cpu_counts_a_session_and_grows_with_its_work() -> None:
    # A session of its own (as the benchmark's servers have): nothing else starts or ends in it.
    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True: time.process_time()"],
        start_new_session=True,
    )
    try:
        time.sleep(0.2)
        before = session_cpu(burner.pid)
        time.sleep(0.6)
        after = session_cpu(burner.pid)
    finally:
        burner.kill()
        burner.wait()
    assert after - before >= 0.1  # a busy process on a shared two-core machine
    assert session_cpu(burner.pid) == 0  # gone: nothing left in that session
