"""``chairside verify``: does the record (or a backup of it) still read as it was written?"""

from __future__ import annotations

import argparse

from vitals.store import DEFAULT_DB
from vitals.store.location import db_argument, describe
from vitals.store.verify import StoreUnreadable, verify_file

UNREAD_EXIT = 3  # neither intact (0) nor broken (1); 2 is a usage error


def add_verify_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "verify",
        help="check the audit chain of the database or of a backup",
        description="Recompute the audit chain of sessions, events, acknowledgments and alert "
        "episodes; print one line. Exit 0 when the record is intact, 1 naming the first "
        f"broken link, {UNREAD_EXIT} when it could not be read at all (no rights, no connection): "
        "that is no verdict on the record.",
    )
    p.add_argument(
        "--db",
        type=db_argument,
        default=DEFAULT_DB,
        help=f"database or backup: a SQLite file (default {DEFAULT_DB}) or "
        "postgresql://user@host/dbname",
    )
    p.add_argument(
        "--against",
        type=db_argument,
        metavar="LIVE_DB",
        help="also check that the chain of --db (a backup) is the start of LIVE_DB's chain",
    )
    p.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    try:
        verdict = verify_file(args.db, args.against)
    except StoreUnreadable as exc:
        print(f"{describe(args.db)}: could not be read: {exc}")
        return UNREAD_EXIT
    print(f"{describe(args.db)}: {verdict.summary()}")
    return 0 if verdict.intact else 1
