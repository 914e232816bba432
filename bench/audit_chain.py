"""What the audit chain costs as a clinic's history grows: the episode writes the recorder
makes (each a chained insert or update) and ``chairside verify`` over the whole chain.

A store gets N episodes, each written as the engine does (opened, escalated twice, ended),
so 4 links per episode; a year of a busy clinic is a few thousand episodes. The figures are
the microseconds per chained write, against the same writes with the chain's triggers
dropped, and the seconds ``verify`` takes.

    python -m bench.audit_chain [--episodes 1000 10000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vitals.engine import CLINICAL, Episode
from vitals.reading import Param
from vitals.rules import Level
from vitals.store import StoreWriter
from vitals.store.chain import CHAINED, CHANGES, trigger_name
from vitals.store.verify import verify_file

START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def evolutions(n: int) -> list[list[Episode]]:
    """Four snapshots per episode: opened, warning, critical with a new peak, ended."""
    steps = []
    for i in range(n):
        at = START + timedelta(minutes=i)
        opened = Episode(
            "sbp-high", CLINICAL, Level.ADVISORY, at, Param.SBP, peak_value=150.0, peak_time=at
        )
        warning = replace(opened, level=Level.WARNING, peak_value=165.0)
        critical = replace(warning, level=Level.CRITICAL, peak_value=183.0)
        steps.append(
            [opened, warning, critical, replace(critical, ended=at + timedelta(seconds=60))]
        )
    return steps


def write_all(db: Path, n: int, chained: bool) -> float:
    """Seconds per write of n episodes' four snapshots, 100 snapshots a commit."""
    writer = StoreWriter(db)
    if not chained:
        drops = [f"DROP TRIGGER {trigger_name(t, op)}" for t in CHAINED for op in CHANGES]
        conn = sqlite3.connect(db)
        for statement in drops:
            conn.execute(statement)
        conn.commit()
        conn.close()
    snapshots = [s for steps in zip(*evolutions(n), strict=True) for s in steps]
    started = time.perf_counter()
    for first in range(0, len(snapshots), 100):
        writer.write_episodes("chair-1", None, snapshots[first : first + 100])
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed / len(snapshots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"{'episodes':>9} {'links':>7} {'us/write':>9} {'no chain':>9} {'verify s':>9}")
    for n in args.episodes:
        with tempfile.TemporaryDirectory() as tmp:
            chained_db, plain_db = Path(tmp) / "chained.db", Path(tmp) / "plain.db"
            with_chain = write_all(chained_db, n, chained=True)
            without = write_all(plain_db, n, chained=False)
            started = time.perf_counter()
            verdict = verify_file(chained_db)
            took = time.perf_counter() - started
            note = "" if verdict.intact else f"  ({verdict.summary()})"
            print(
                f"{n:>9} {verdict.links:>7} {with_chain * 1e6:>9.0f} {without * 1e6:>9.0f} "
                f"{took:>9.2f}{note}"
            )


if __name__ == "__main__":
    main()
