"""``make bench``: every benchmark, each against a baseline measured in the same run.

Writes bench/results/latest.json (sections ``receiver``, ``burst``, ``ingest``, ``excel``,
``e2e``, ``day``, ``overhead``, ``lake_scale``) and BENCHMARKS.md (the figures table, and
the drills table from the last ``make test``'s junit XML). A section that fails or whose
module is missing is recorded as such; the others still run.

``python -m bench [--only receiver,e2e] [--quick]``, or ``python -m bench lake_scale`` (sections
named as arguments: the same as ``--only``).

``lake_scale`` (local disk and S3 through moto) commits the newest 300 deliveries one by one
by default (at most 1% of each size); issue #15's figure is 10,000 at 1M deliveries, which
BENCHMARKS.md's numbers were measured with: ``--lake-commits local=10000,s3=500`` (the 10,000
local commits alone took 45 min on the loaded 2-core machine; a commit on moto costs ~0.5 s,
so 10,000 on S3 would be ~1.5 h and were not run).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import platform
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import report

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SECTIONS = ("receiver", "ingest", "excel", "e2e", "burst", "lake_scale", "day", "overhead")
#: The sections that run on make run's live stack (started once for all of them).
LIVE = ("e2e", "overhead", "day", "burst")


def _optional(module: str) -> Any:
    """A benchmark module written separately; ``None`` while it does not exist yet."""
    try:
        return importlib.import_module(f"bench.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bench.{module}":
            raise
        return None


def _section(name: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    print(f"[bench] {name} …", flush=True)
    started = time.monotonic()
    try:
        result = measure()
    except Exception as exc:  # one broken section must not lose the others' figures
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["section_seconds"] = round(time.monotonic() - started, 1)
    print(f"[bench] {name}: {json.dumps(result)[:400]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; write latest.json and BENCHMARKS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="short runs, for trying it out")
    parser.add_argument("sections", nargs="*", help="sections to run (like --only)")
    parser.add_argument(
        "--lake-commits",
        help="lake_scale: newest deliveries committed one by one, N or local=N,s3=M "
        "(default 300; issue #15's figure: 10000)",
    )
    parser.add_argument("--lake-sizes", help="lake_scale: deliveries, e.g. 10000,100000,1000000")
    parser.add_argument("--lake-stores", help="lake_scale: local,s3 (default both)")
    parser.add_argument(
        "--lake-maintain-every",
        type=int,
        help="lake_scale: maintain_catalog after this many single commits "
        "(default 40: an hour of the 1M lake)",
    )
    args = parser.parse_args(argv)
    if args.sections:
        unknown = set(args.sections) - set(SECTIONS)
        if unknown:
            parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
        args.only = ",".join([*(args.only.split(",") if args.only else []), *args.sections])
    wanted = args.only.split(",") if args.only else list(SECTIONS)
    quick = args.quick

    results: dict[str, Any] = {}
    if args.only and RESULTS.is_file():
        # A partial run keeps the other sections' last figures, and says so.
        results = json.loads(RESULTS.read_text())
        results["previous_when"] = results.get("previous_when") or results.get("when")
        since = set(results.get("sections_run") or []) | set(wanted)
        results["sections_run"] = [name for name in SECTIONS if name in since]
    else:
        results.pop("previous_when", None)
        results.pop("sections_run", None)
    results.update(
        {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": f"{platform.machine()} {platform.python_version()}, "
            f"{__import__('os').cpu_count()} cores",
            "quick": quick,
        }
    )

    def save() -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    if "receiver" in wanted:
        from bench import receiver_bench

        results["receiver"] = _section(
            "receiver",
            lambda: receiver_bench.run(
                3.0 if quick else 10.0, rounds=1 if quick else receiver_bench.ROUNDS
            ),
        )
        save()
    for name in ("ingest", "excel"):
        if name not in wanted:
            continue
        module = _optional(f"{name}_bench")
        if module is None:
            results[name] = {"missing": f"section missing: bench/{name}_bench.py does not exist"}
            print(f"[bench] {name}: section missing (bench/{name}_bench.py)", flush=True)
        else:
            results[name] = _section(name, lambda m=module: m.run(quick=quick))
        save()
    if "lake_scale" in wanted:
        from bench import lake_scale_bench

        def lake_scale() -> dict[str, Any]:
            return lake_scale_bench.run(
                quick=quick,
                sizes=lake_scale_bench.parse_sizes(args.lake_sizes) if args.lake_sizes else None,
                commits=lake_scale_bench.parse_commits(args.lake_commits)
                if args.lake_commits
                else None,
                stores=tuple(args.lake_stores.split(",")) if args.lake_stores else None,
                **(
                    {"maintain_every": args.lake_maintain_every} if args.lake_maintain_every else {}
                ),
            )

        previous = results.get("lake_scale")
        results["lake_scale"] = _section("lake_scale", lake_scale)
        if "error" in results["lake_scale"] and isinstance(previous, dict):
            # A failed run keeps the last figures (and says it failed) rather than losing them.
            results["lake_scale"] = {**previous, "last_run_error": results["lake_scale"]}
        for kind in results["lake_scale"].get("stores", ()):
            if isinstance(results["lake_scale"].get(kind), dict):
                results["lake_scale"][kind]["measured_at"] = results["when"]
        if args.lake_stores and isinstance(previous, dict) and "error" not in results["lake_scale"]:
            # A run on some stores keeps the other stores' last figures (each says its run).
            for kind in set(previous.get("stores", ())) - set(args.lake_stores.split(",")):
                if kind in previous:
                    results["lake_scale"][kind] = previous[kind]
            results["lake_scale"]["stores"] = sorted(
                {*previous.get("stores", ()), *results["lake_scale"].get("stores", ())}
            )
        save()
    if set(LIVE) & set(wanted):
        from bench import burst_bench, day_bench, e2e_bench, overhead_bench
        from bench.live_stack import live_stack

        with contextlib.ExitStack() as stack_scope:
            try:
                stack, simulator = stack_scope.enter_context(live_stack())
            except Exception as exc:
                traceback.print_exc()
                for name in LIVE:
                    if name in wanted:
                        results[name] = {"error": f"stack did not start: {exc}"}
                stack = None
            if stack is not None:
                results["stack_startup_seconds"] = stack.startup_seconds
                # e2e first, burst last: the burst leaves thousands of queued runs behind.
                if "e2e" in wanted:
                    results["e2e"] = _section(
                        "e2e",
                        lambda: e2e_bench.run(stack, simulator, samples=1 if quick else 4),
                    )
                    save()
                if "overhead" in wanted:
                    results["overhead"] = _section(
                        "overhead",
                        lambda: overhead_bench.run(
                            stack, samples=1 if quick else 4, parse_runs=1 if quick else 3
                        ),
                    )
                    save()
                if "day" in wanted:
                    results["day"] = _section("day", lambda: day_bench.run(stack, simulator))
                    save()
                if "burst" in wanted:
                    results["burst"] = _section(
                        "burst",
                        lambda: burst_bench.run(stack, simulator, count=50 if quick else 500),
                    )
        save()
    save()
    written = report.write(results)
    print(f"written: {RESULTS}\nwritten: {written}")
    for row in report.benchmark_rows(results):
        met = {True: "met", False: "MISSED", None: ""}[row["met"]]
        print(
            f"{row['figure'][:70]:70} {row['measured']!s:>12} {row['baseline']!s:>10} "
            f"{row['ratio']!s:>6} {row['target']:>10} {met}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
