"""``chairside verify``: does the record (or a backup of it) still read as it was written?"""

from __future__ import annotations

import argparse

from vitals.store import DEFAULT_DB
from vitals.store.location import db_argument, describe
from vitals.store.verify import verify_file


def add_verify_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "verify",
        help="check the audit chain of the database or of a backup",
        description="Recompute the audit chain of sessions, events, acknowledgments and alert "
        "episodes; print one line. Exit 0 when the record is intact, 1 naming the first "
        "broken link.",
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
    verdict = verify_file(args.db, args.against)
    print(f"{describe(args.db)}: {verdict.summary()}")
    return 0 if verdict.intact else 1
