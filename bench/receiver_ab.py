"""A/B rounds for the receiver: the trivial app and receiver variants, interleaved.

Not part of ``make bench``: the tool used to weigh a change to the receiver's hot path before
keeping it (issue #17; every lever tried in sessions 9–11 was measured with it). A code change
is compared by putting it behind a temporary environment switch and naming that switch in a
variant. Each round serves the trivial app and then every variant, each on a fresh state
folder, under ``make run``'s gunicorn command line, drives it with ``wrk`` at 16 clients, and
reads the server's CPU time (every process of its session, from ``/proc``) before and after:
CPU per accepted request is steadier than the rate on a shared machine.

Usage::

    PYTHONPATH=include:tools:. python -m bench.receiver_ab --rounds 4 --seconds 8 \\
        --variant base= --variant nolog=SINTEGRE_X=1

A variant is ``name=ENV=VALUE,ENV=VALUE`` (environment for the receiver; empty for as is).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.receiver_bench import basic_auth, drive, payloads, server_env, warmed_server
from bench.rounds import loadavg

_TICK = os.sysconf("SC_CLK_TCK")


def session_cpu(session: int) -> float:
    """CPU seconds (user + system) of every live process whose session id is ``session``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session:  # field 6 of stat: the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``name=ENV=VALUE,ENV=VALUE`` → ``(name, {ENV: VALUE})``; ``name=`` has no settings."""
    name, _, settings = spec.partition("=")
    if not name:
        raise ValueError(f"a variant needs a name: {spec!r}")
    return name, dict(item.split("=", 1) for item in settings.split(",") if item)


def _one(
    app: str, extra: dict[str, str], clients: int, seconds: float, auth: str, tag: str
) -> dict[str, Any]:
    bodies = payloads(int(6000 * seconds), seed=tag)
    with (
        tempfile.TemporaryDirectory(prefix="sintegre-ab-") as tmp,
        warmed_server(app, {**server_env(tmp), **extra}, auth, tag=tag, clients=clients) as (
            process,
            port,
        ),
    ):
        before = session_cpu(process.pid)
        figures = drive(
            port, bodies, clients, seconds, auth, generator="wrk", folder=Path(tmp), tag=tag
        )
        used = session_cpu(process.pid) - before
    figures["cpu_us_per_accept"] = round(used / max(figures["accepted"], 1) * 1e6)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variant or ["receiver="]]
    auth = basic_auth()
    ratios: dict[str, list[float]] = {name: [] for name, _ in variants}
    cpu: dict[str, list[int]] = {name: [] for name, _ in [("trivial", {}), *variants]}
    for index in range(args.rounds):
        trivial = _one("bench.trivial_app:app", {}, args.clients, args.seconds, auth, f"t{index}_")
        cpu["trivial"].append(trivial["cpu_us_per_accept"])
        line = [f"round {index}: load {loadavg()[0]}", f"trivial {trivial['per_second']:.0f}/s"]
        line.append(f"{trivial['cpu_us_per_accept']} µs")
        for name, env in variants:
            figures = _one(
                "sintegre.intake.receiver.wsgi:app",
                env,
                args.clients,
                args.seconds,
                auth,
                f"{name}{index}_",
            )
            ratio = figures["per_second"] / trivial["per_second"]
            ratios[name].append(ratio)
            cpu[name].append(figures["cpu_us_per_accept"])
            line.append(
                f"{name} {figures['per_second']:.0f}/s {ratio:.3f}× "
                f"{figures['cpu_us_per_accept']} µs err {figures['errors']}"
            )
        print(" | ".join(line), flush=True)
    for name, values in ratios.items():
        print(
            f"{name}: ratio median {statistics.median(values):.3f} "
            f"[{min(values):.3f}–{max(values):.3f}], CPU/accept median "
            f"{statistics.median(cpu[name])} µs (trivial {statistics.median(cpu['trivial'])} µs)"
        )


if __name__ == "__main__":
    main()
