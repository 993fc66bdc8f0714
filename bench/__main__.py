"""``make bench``: run the benchmarks, print ratios, write bench/results/latest.json."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from bench import receiver_bench

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main() -> None:
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "receiver": receiver_bench.run(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'figure':44} {'receiver':>10} {'baseline':>10} {'ratio':>7}")
    for level in ("clients_1", "clients_16"):
        data = report["receiver"][level]
        rec, base = data["receiver"], data["baseline"]
        print(
            f"{'accepted/s at ' + level:44} {rec['per_second']:>10} {base['per_second']:>10} "
            f"{data['throughput_ratio']:>7}"
        )
        print(
            f"{'p99 ms at ' + level:44} {rec['p99_ms']:>10} {base['p99_ms']:>10} "
            f"{data['p99_ratio']:>7}"
        )
        print(f"{'errors at ' + level:44} {rec['errors']:>10} {base['errors']:>10}")
    print(f"written: {RESULTS}")


if __name__ == "__main__":
    main()
