"""Backup cost as a store grows: the nightly ``chairside backup`` and the copy taken before an
upgrade migrates, both ``vitals.store.backup.backup_store``.

Stores of N chair-days (1 Hz HR, SpO2 and pulse for 8 h, through the store writer) are copied
once idle and once while a writer commits readings every 10 ms, as the recorder does; the
figures are the seconds, MB/s and the writer's worst commit during the copy (WAL: a backup
must never hold up acquisition).

    python -m bench.backup [--days 1 7]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vitals.reading import Param, Reading
from vitals.store import StoreWriter
from vitals.store.backup import backup_store

START = datetime(2026, 3, 1, 8, tzinfo=UTC)
DAY_S = 8 * 3600


def fill(writer: StoreWriter, days: int) -> int:
    written = 0
    for day in range(days):
        for block in range(0, DAY_S, 600):
            at = START + timedelta(days=day, seconds=block)
            batch = [
                Reading(param, 70.0 + s % 30).stamped("chair-1", at + timedelta(seconds=s), "b")
                for s in range(600)
                for param in (Param.HR, Param.SPO2, Param.PULSE)
            ]
            writer.write_readings(batch)
            written += len(batch)
    return written


def copy_while_writing(writer: StoreWriter, db: Path, out: Path) -> tuple[float, float]:
    """Seconds of the backup, and the writer's slowest commit (ms) meanwhile."""
    stop, slowest = threading.Event(), [0.0]

    def record() -> None:
        second = 0
        while not stop.is_set():
            at = START - timedelta(days=1, seconds=-second)
            began = time.perf_counter()
            writer.write_readings([Reading(Param.HR, 72.0).stamped("chair-2", at, "b")])
            slowest[0] = max(slowest[0], (time.perf_counter() - began) * 1000)
            second += 1
            time.sleep(0.01)

    thread = threading.Thread(target=record)
    thread.start()
    began = time.perf_counter()
    backup_store(db, out, at=datetime.now(UTC) + timedelta(hours=1))
    seconds = time.perf_counter() - began
    stop.set()
    thread.join()
    return seconds, slowest[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[1, 7])
    args = parser.parse_args()
    print("chair-days  readings   store MB  idle s  MB/s   while writing s  slowest commit ms")
    with tempfile.TemporaryDirectory() as work:
        for days in args.days:
            db = Path(work) / f"store-{days}.db"
            writer = StoreWriter(db)
            readings = fill(writer, days)
            began = time.perf_counter()
            taken = backup_store(db, Path(work) / "out")
            idle = time.perf_counter() - began
            busy, slowest = copy_while_writing(writer, db, Path(work) / "out")
            writer.close()
            size = taken.size / 1_048_576
            print(
                f"{days:>10}  {readings:>9}  {size:>8.1f}  {idle:>6.2f}  {size / idle:>5.0f}"
                f"  {busy:>15.2f}  {slowest:>17.1f}"
            )


if __name__ == "__main__":
    main()
