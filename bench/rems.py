"""The REMS monitoring record and the course: how long they take, and how that grows with the
length of a session and with a patient's number of sessions.

A session of H hours at 1 Hz (HR, pulse, SpO2 every second; NIBP every 5 min) is simulated
through the GE S/5 encoder and decoder and stored as the recorder stores it, with scores at the
protocol's times. Timed (medians of repeated runs, each on a fresh read-only connection):

- record: ``monitoring_record`` (the store read, the discharge verdict, the answers);
- pdf + csv: ``export(..., "rems")``, what the command line and the review page write;
- course: ``course_table`` for a patient with N sessions of 2 h each (the Course page's read).

    python -m bench.rems [--hours 2 24] [--course 5 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.course_measures import course_table
from vitals.exchange.export import export, session_window
from vitals.rems import monitoring_record
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.measures import record_score

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NURSE = "Nurse Ada"


def _session(db: Path, start: datetime, hours: float) -> int:
    writer = StoreWriter(db)
    writer.write_readings(recorded_session("c1", "esketamine", 1, start, int(hours * 3600), 1))
    writer.close()
    session = commands.start_session(
        db, "c1", "P-1", "esketamine-nasal", NURSE, at=start, dose_mg=56
    )
    dose = start + timedelta(minutes=10)
    commands.add_event(db, session, "dose", NURSE, at=dose)
    for minute, moaas, cadss in ((0, 5, 0), (40, 4, 12), (90, 5, 2), (120, 5, 0)):
        at = dose + timedelta(minutes=minute)
        record_score(db, session, "sedation", moaas, NURSE, at)
        record_score(db, session, "dissociation", cadss, NURSE, at)
    commands.end_session(db, session, NURSE, "ready", start + timedelta(hours=hours))
    return session


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _fresh(tmp: Path, name: str) -> Path:
    db = tmp / name
    writer = StoreWriter(db)
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    writer.close()
    return db


def bench_record(tmp: Path, hours: float, repeat: int) -> None:
    db = _fresh(tmp, f"record-{hours}.db")
    session = _session(db, START, hours)

    def record() -> None:
        conn = connect_readonly(db)
        monitoring_record(conn, session, START + timedelta(days=1))
        conn.close()

    def files() -> None:
        conn = connect_readonly(db)
        export(conn, "rems", session_window(conn, session), tmp / f"rems-{hours}")
        conn.close()

    print(
        f"{hours:g} h session at 1 Hz: record {_median_ms(record, repeat):.0f} ms, "
        f"PDF + CSV {_median_ms(files, repeat):.0f} ms"
    )


def bench_course(tmp: Path, sessions: int, repeat: int) -> None:
    db = _fresh(tmp, f"course-{sessions}.db")
    for n in range(sessions):
        _session(db, START + timedelta(days=n), 2)

    def table() -> None:
        conn = connect_readonly(db)
        course_table(conn, "P-1", START + timedelta(days=sessions + 1))
        conn.close()

    ms = _median_ms(table, repeat)
    print(f"course of {sessions} sessions: {ms:.0f} ms ({ms / sessions:.0f} ms a session)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[2, 24])
    parser.add_argument("--course", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            bench_record(Path(tmp), hours, args.repeat)
        for sessions in args.course:
            bench_course(Path(tmp), sessions, args.repeat)


if __name__ == "__main__":
    main()
