"""Replays from the command line, like SINtegre's own buttons.

python -m sintegre.cli.replay <id> [<id> ...]   # one or more notifications
python -m sintegre.cli.replay --failed          # every failed and expired one
python -m sintegre.cli.replay --pending         # every one still waiting: try now
"""

from __future__ import annotations

import argparse
import sys

from sintegre.core.settings import load_settings
from sintegre.intake.inbox import Inbox

FAILED = ("failed", "layout_mismatch", "expired")
PENDING = ("received",)


def replay_ids(inbox: Inbox, ids: list[str]) -> dict[str, str]:
    """Replay each id; returns id → outcome (``received`` or the reason it was not replayed)."""
    outcomes: dict[str, str] = {}
    for notification_id in ids:
        try:
            outcomes[notification_id] = inbox.replay(notification_id)
        except KeyError:
            outcomes[notification_id] = "unknown id"
        except ValueError as exc:
            outcomes[notification_id] = str(exc)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 1 when any id could not be replayed."""
    parser = argparse.ArgumentParser(prog="python -m sintegre.cli.replay", description=__doc__)
    parser.add_argument("ids", nargs="*", help="notification ids")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--failed", action="store_true", help="every failed or expired one")
    group.add_argument("--pending", action="store_true", help="every one waiting for Airflow")
    args = parser.parse_args(argv)
    settings = load_settings()
    inbox = Inbox(settings.inbox_url, synchronous=settings.inbox_synchronous)
    ids = list(args.ids)
    if args.failed:
        ids += inbox.ids_in(FAILED)
    if args.pending:
        ids += inbox.ids_in(PENDING)
    if not ids:
        print("nothing to replay")
        return 0
    outcomes = replay_ids(inbox, ids)
    for notification_id, outcome in outcomes.items():
        print(f"{notification_id}: {outcome}")
    return 0 if all(o == "received" for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
