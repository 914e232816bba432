"""The compact readings table: converted in place from the old one without losing or changing a
value, a few dozen bytes a reading, and every query a seek, never a scan of the history."""

import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulators.clinic_history import HistorySpec, build_history
from simulators.offline import recorded_session
from simulators.sample_clinic import SAMPLE_DB
from tests.conftest import query
from vitals.errors import StoreError
from vitals.reading import Param, Reading
from vitals.review import course, session_page
from vitals.store import StoreWriter, connect_readonly, listing, notifications, queries, sql
from vitals.store.listing import SessionFilter
from vitals.store.location import PostgresServer
from vitals.store.migrations import MIGRATIONS, applied, m007_compact_readings, migrate
from vitals.times import to_us
from vitals.verdict import discharge_verdict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD_COLUMNS = "chair, t_us, device_us, param, value, unit, quality, source"
VIEW_ROWS = "SELECT * FROM readings_v ORDER BY chair, time_utc, param, value"


def old_store(db: Path, rows: list[tuple], chairs: list[str]) -> None:
    """A store as the migrations before the compact table left it, holding ``rows`` in the old
    shape (chair, t_us, device_us, param, value, unit, quality, source), in insertion order."""
    conn = sqlite3.connect(db, isolation_level=None)
    applied(conn)
    for migration in MIGRATIONS[: MIGRATIONS.index(m007_compact_readings)]:
        migration(conn)
        conn.execute("INSERT INTO migrations VALUES (?, 'then')", (migration.__name__,))
    conn.executemany(
        "INSERT INTO chairs (chair, name, position, port, protocol) VALUES (?, ?, ?, 'x', 'ge-s5')",
        [(c, c, i) for i, c in enumerate(chairs)],
    )
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO readings ({OLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.close()


def old_rows(readings: list[Reading]) -> list[tuple]:
    return [
        (
            r.chair,
            to_us(r.time),
            to_us(r.device_time) if r.device_time else None,
            r.param.value,
            r.value,
            r.unit,
            r.quality.value,
            r.source,
        )
        for r in readings
    ]


def converted_in_place(db: Path) -> tuple[list, list]:
    """readings_v and every column, before and after the migration, must be the same."""
    before = (query(db, VIEW_ROWS), query(db, f"SELECT {OLD_COLUMNS} FROM readings ORDER BY id"))
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn)
    conn.close()
    after_view = query(db, VIEW_ROWS)
    after_rows = query(db, f"SELECT {OLD_COLUMNS} FROM readings_full ORDER BY t_us, seq")
    assert after_view == before[0]
    assert sorted(after_rows, key=repr) == sorted(before[1], key=repr)
    return before[1], after_rows


def test_the_committed_sample_converts_in_place_value_for_value(tmp_path: Path) -> None:
    rows = query(SAMPLE_DB, f"SELECT {OLD_COLUMNS} FROM readings_full ORDER BY t_us, param")
    chairs = [c for (c,) in query(SAMPLE_DB, "SELECT chair FROM chairs ORDER BY position")]
    db = tmp_path / "old-sample.db"
    old_store(db, rows, chairs)
    before, _ = converted_in_place(db)
    assert len(before) == len(rows) > 5000
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_larger_store_with_every_odd_reading_converts_and_stays_writable(
    tmp_path: Path,
) -> None:
    readings = recorded_session("chair-1", "hypertensive", 3, T0, 2 * 3600, interval_s=1)
    readings += recorded_session("chair-2", "desaturation", 4, T0, 2 * 3600, interval_s=2)
    rows = old_rows(readings)
    odd = [
        ("chair-1", rows[0][1], None, "hr", 72.0, "bpm", "ok", "ge-s5"),  # same time, new value
        ("chair-1", rows[0][1], None, "hr", 72.0, "bpm", "ok", "ge-s5"),  # and a true repeat
        ("gone", 1_700_000_000_123_456, None, "spo2", None, "%", "invalid", "import"),
        (
            "chair-2",
            1_700_000_000_000_001,
            1_699_999_990_000_000,
            "sbp",
            97.5,
            "mmHg",
            "artifact",
            "masimo-ascii",
        ),
    ]
    db = tmp_path / "old.db"
    old_store(db, rows[:1000] + odd + rows[1000:], ["chair-1", "chair-2"])
    _, after = converted_in_place(db)
    assert len(after) == len(readings) + len(odd) > 20_000
    assert query(db, "SELECT count(*) FROM readings_full WHERE seq > 0") == [(2,)]
    assert query(db, "SELECT name FROM migrations")[-1] == (MIGRATIONS[-1].__name__,)
    writer = StoreWriter(db)  # the converted store takes new readings at once
    writer.write_readings([Reading(Param.HR, 80.0).stamped("chair-1", T0, "ge-s5")])
    writer.close()
    assert query(db, "SELECT count(*) FROM readings_v") == [(len(after) + 1,)]


def test_a_reading_in_a_unit_chairside_does_not_use_stops_the_migration_cleanly(
    tmp_path: Path,
) -> None:
    db = tmp_path / "odd.db"
    rows = [("c1", 1_000_000, None, "hr", 70.0, "bpm", "ok", "x")]
    old_store(db, [*rows, ("c1", 2_000_000, None, "hr", 70.0, "mmHg", "ok", "x")], ["c1"])
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(StoreError, match=r"1 of 2 readings.*hr in 'mmHg' \(1\).*left as it was"):
        migrate(conn)
    conn.close()
    assert query(db, "SELECT count(*) FROM readings WHERE unit = 'mmHg'") == [(1,)]
    assert m007_compact_readings.__name__ not in {
        n for (n,) in query(db, "SELECT name FROM migrations")
    }


def test_a_repeated_reading_is_kept_beside_the_first(
    store_writer: StoreWriter, store_db: Path | PostgresServer
) -> None:
    same = [Reading(Param.SBP, v).stamped("c1", T0, "ge-s5") for v in (120.0, 121.0, 120.0)]
    store_writer.write_readings(same[:2])
    store_writer.write_readings(same[2:])
    assert query(store_db, "SELECT value, seq FROM readings_full ORDER BY seq") == [
        (120.0, 0),
        (121.0, 1),
        (120.0, 2),
    ]
    conn = connect_readonly(store_db)
    assert [r.value for r in queries.stored_readings(conn, "c1", T0)] == [120.0, 121.0, 120.0]


def test_a_reading_takes_under_thirty_bytes(fresh_store: StoreWriter, db_path: Path) -> None:
    """An hour of four chairs as a recorder writes it: interleaved, a frame at a time, the
    device clock a fraction of a second behind the recorder's."""
    readings = []
    for n in range(4):
        late = timedelta(microseconds=37_000 + 1000 * n)
        recorded = recorded_session(f"chair-{n}", "typical", n, T0, 3600, interval_s=1)
        readings += [r.stamped(r.chair, r.time + late, r.source) for r in recorded]
    readings.sort(key=lambda r: r.time)
    for start in range(0, len(readings), 100):
        fresh_store.write_readings(readings[start : start + 100])
    ((pages, rows),) = query(
        db_path,
        "SELECT (SELECT sum(pgsize) FROM dbstat WHERE name = 'readings'),"
        " (SELECT count(*) FROM readings)",
    )
    assert rows > 40_000
    assert pages / rows < 30, f"{pages / rows:.1f} bytes a reading"


def test_a_clinic_day_takes_under_thirty_bytes_a_reading_in_the_whole_file(tmp_path: Path) -> None:
    """Everything a recorded day adds to the file, not the readings table alone: two chairs
    through a clinic day by the project's history generator (readings at 1 Hz and every
    cuff, sessions under their protocols, events, alerts and acknowledgments, the kept
    summaries, the audit chain), beyond what an empty store already takes."""
    empty, db = tmp_path / "empty.db", tmp_path / "day.db"
    StoreWriter(empty).close()
    counts = build_history(db, HistorySpec(days=1, chairs=2))
    assert counts.readings > 150_000 and counts.sessions >= 8 and counts.episodes > 20
    grown = db.stat().st_size - empty.stat().st_size
    assert grown / counts.readings < 30, f"{grown / counts.readings:.2f} bytes a reading"


def test_every_page_query_seeks_and_every_index_serves_one(tmp_path: Path) -> None:
    """Run what the pages, the recorder's start and the exports ask on the sample, and read
    SQLite's plan of each statement: readings, sessions and episodes are only ever searched
    through a key or an index (never scanned whole), and no index is there for nothing."""
    db = tmp_path / "sample.db"
    shutil.copy(SAMPLE_DB, db)
    StoreWriter(db).close()
    conn = connect_readonly(db)
    asked: list[str] = []
    conn.set_trace_callback(asked.append)
    ask_what_pages_ask(conn)
    conn.set_trace_callback(None)
    used, scans = set(), []
    for statement in asked:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        for *_, detail in conn.execute("EXPLAIN QUERY PLAN " + statement):
            used |= set(re.findall(r"USING (?:COVERING )?INDEX (\w+)", detail))
            table = re.match(r"SCAN (\w+)$", detail)
            # small lookup tables, and "held": the subquery of one range's held values
            if table and table[1] not in ("ch", "chairs", "params", "qualities", "sources", "held"):
                scans.append((detail, statement))
    assert not scans, scans
    indexes = {
        name
        for name, text in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        if text and not text.startswith("CREATE UNIQUE")  # those are constraints
    }
    assert indexes - used == set(), "indexes no query uses"


def ask_what_pages_ask(conn: sqlite3.Connection) -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    session = queries.session_by_id(conn, 1)
    start, end = session.started, session.ended
    queries.latest_readings(conn)
    queries.recent_values(conn, ("sbp", "hr"), start)
    queries.visible_episodes(conn)
    queries.visible_episodes(conn, chair=session.chair)
    queries.open_sessions(conn)
    queries.active_session(conn, session.chair)
    queries.last_session_end(conn, session.chair)
    queries.chart_readings(conn, session.chair, start, end)
    queries.stored_readings(conn, session.chair, start, end, (Param.SBP,))
    queries.episodes(conn, chair=session.chair, since=start)
    queries.episodes(conn, chair=session.chair, since=start, until=end)
    queries.events(conn, 1)
    notifications.pending_alarms(conn)  # the notifier, every second
    notifications.attempts(conn, [1])
    notifications.session_notifications(conn, 1, session.chair, start, end)
    list(queries.export_rows(conn, session.chair, start, end, valued_ok=True))
    queries.count_readings(conn, session.chair, start, end, valued_ok=True)
    sql.latest_nibp(conn, session.chair)
    for f in (
        SessionFilter(),
        SessionFilter(critical=True, unacknowledged=True),
        SessionFilter(since=start, until=later, chairs=(session.chair,), protocols=("x",)),
    ):
        listing.listed_sessions(conn, f, 50, 0)
        listing.count_sessions(conn, f)
    listing.session_span(conn)
    listing.session_chairs(conn)
    session_page(conn, later)
    course(conn, session.patient, later)
    discharge_verdict(conn, 1, later)
