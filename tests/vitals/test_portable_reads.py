"""The read side on both engines: every page query gives PostgreSQL's answer exactly as
SQLite's on the same sample, reads a window through an index on both, and a summary reads
one moment of the store on both."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.overview_model import build_tiles
from simulators.sample_clinic import SAMPLE_DB
from vitals.chairs import Chair
from vitals.course_measures import course_table
from vitals.exchange.export import export, session_window
from vitals.reading import Param, Reading
from vitals.rems import monitoring_record
from vitals.review import course, session_page, what_if
from vitals.store import StoreWriter, commands, connect_readonly, listing, notifications, queries
from vitals.store.listing import SessionFilter
from vitals.store.location import PostgresServer
from vitals.store.measures import param_readings, scored_times
from vitals.verdict import discharge_verdict, session_alarms

LATER = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sqlite_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sample") / "sample.db"
    shutil.copy(SAMPLE_DB, db)
    StoreWriter(db).close()  # migrated as a recorder would leave it
    return db


def reads(conn) -> Iterator[tuple[str, Callable[[], object]]]:
    """What the Review, Course, chair and overview pages, the exports and the notifier ask."""
    session = queries.session_by_id(conn, 1)
    chair, start, end = session.chair, session.started, session.ended
    around = start - timedelta(minutes=15)
    yield "chairs", lambda: queries.chairs(conn)
    yield "chair names", lambda: queries.chair_names(conn)
    yield "latest", lambda: queries.latest_readings(conn)
    yield "recent", lambda: queries.recent_values(conn, ("sbp", "hr"), start)
    yield "visible", lambda: queries.visible_episodes(conn)
    yield "visible chair", lambda: queries.visible_episodes(conn, chair=chair)
    yield "live", lambda: queries.live_episodes(conn, chair)
    yield "open sessions", lambda: queries.open_sessions(conn)
    yield "active", lambda: queries.active_session(conn, chair)
    yield "session", lambda: queries.session_by_id(conn, 3)
    yield "last end", lambda: queries.last_session_end(conn, chair)
    yield "chart", lambda: queries.chart_readings(conn, chair, around, end)
    yield "between", lambda: queries.readings_between(conn, chair, start, start + timedelta(1))
    yield "stored", lambda: queries.stored_readings(conn, chair, start, end, (Param.SBP,))
    yield "episodes", lambda: queries.episodes(conn, chair=chair, since=start, until=end)
    yield "session episodes", lambda: queries.episodes(conn, session=4)
    yield "engine open", lambda: queries.open_engine_episodes(conn, chair)
    yield "events", lambda: queries.events(conn, 1)
    yield "acks", lambda: queries.acknowledgments(conn, 1)
    yield "device states", lambda: queries.device_states(conn)
    yield "export rows", lambda: list(queries.export_rows(conn, chair, start, end, True))
    yield "count", lambda: queries.count_readings(conn, chair, start, end, valued_ok=True)
    yield "pending", lambda: notifications.pending_alarms(conn)
    yield "attempts", lambda: notifications.attempts(conn, [1, 2, 3])
    yield "no attempts", lambda: notifications.attempts(conn, [])
    yield "notified", lambda: notifications.session_notifications(conn, 1, chair, start, end)
    yield "notifier", lambda: notifications.notifier_status(conn)
    for name, f in (
        ("all", SessionFilter()),
        ("alerts", SessionFilter(critical=True, unacknowledged=True)),
        ("narrow", SessionFilter(since=start, until=LATER, chairs=(chair,), protocols=("x",))),
        ("patient", SessionFilter(patient=session.patient)),
    ):
        yield f"list {name}", lambda f=f: listing.listed_sessions(conn, f, 4, 2)
        yield f"list every {name}", lambda f=f: listing.listed_sessions(conn, f)
        yield f"count {name}", lambda f=f: listing.count_sessions(conn, f)
    yield "patients", lambda: listing.patients(conn)
    yield "span", lambda: listing.session_span(conn)
    yield "session chairs", lambda: listing.session_chairs(conn)
    # (the stamp is the code's that computed them: the committed sample's is older)
    yield (
        "summaries",
        lambda: {s: rest for s, (_, *rest) in listing.stored_summaries(conn, [1, 2, 3]).items()},
    )
    yield "no summaries", lambda: listing.stored_summaries(conn, [])
    yield "page", lambda: session_page(conn, LATER, page=1, per_page=3)
    yield "course", lambda: course(conn, session.patient, LATER)
    yield "course table", lambda: course_table(conn, session.patient, LATER)
    yield "verdict", lambda: discharge_verdict(conn, 1, LATER)
    yield "alarms", lambda: session_alarms(conn, session)
    yield "what if", lambda: what_if(conn, 2, session.rules)
    yield "rems", lambda: monitoring_record(conn, 1, LATER)
    yield "scored", lambda: scored_times(conn, [1, 2], ["phq9", "sedation"])
    yield "tiles", lambda: build_tiles(conn, pd.Timestamp(end) + pd.Timedelta(minutes=5))
    yield "bp", lambda: param_readings(conn, chair, (Param.SBP, Param.DBP), start, end)


def same(left: object, right: object, what: str) -> None:
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=what)
    elif dataclasses.is_dataclass(left) and not isinstance(left, type):
        for field in dataclasses.fields(left):
            name = f"{what}.{field.name}"
            same(getattr(left, field.name), getattr(right, field.name), name)
    else:
        assert left == right, what


def test_every_page_query_answers_the_same_on_postgresql_as_on_sqlite(
    sqlite_sample: Path, pg_sample: PostgresServer
) -> None:
    lite, pg = connect_readonly(sqlite_sample), connect_readonly(pg_sample)
    try:
        asked = 0
        for (what, on_lite), (_, on_pg) in zip(reads(lite), reads(pg), strict=True):
            same(on_lite(), on_pg(), what)
            asked += 1
        assert asked > 50
    finally:
        lite.close()
        pg.close()


def test_the_exports_are_byte_for_byte_the_same_from_either_store(
    sqlite_sample: Path, pg_sample: PostgresServer, tmp_path: Path
) -> None:
    for form in ("csv", "fhir", "hl7"):
        written = []
        for db in (sqlite_sample, pg_sample):
            conn = connect_readonly(db)
            out = tmp_path / f"{form}-{len(written)}"
            try:
                export(conn, form, session_window(conn, 2), out)
            finally:
                conn.close()
            written.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
        assert written[0] == written[1], form
        assert written[0]


class Asked:
    """A connection that keeps every statement with its parameters (PostgreSQL has no trace
    callback): the plan test explains each one afterwards."""

    def __init__(self, conn) -> None:
        self.conn, self.statements = conn, []

    def execute(self, sql: str, params: tuple = ()):
        self.statements.append((sql, tuple(params)))
        return self.conn.execute(sql, params)

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def test_postgresql_reads_readings_and_sessions_through_an_index(
    pg_sample: PostgresServer,
) -> None:
    """The sample is small enough for PostgreSQL to scan it whole; with scans priced out,
    every statement that touches readings, sessions or episodes must still find an index:
    a page's cost then depends on its window, not on the clinic's history."""
    conn = connect_readonly(pg_sample)
    asked = Asked(conn)
    try:
        for _, read in reads(asked):
            read()
        conn.execute("SET enable_seqscan = off")
        scans = []
        for sql, params in asked.statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, params))
            for table in re.findall(r"Seq Scan on (\w+)", plan):
                if table.startswith(("readings", "sessions", "episodes", "events", "ackn")):
                    scans.append((table, sql))
        assert not scans, scans
        assert len(asked.statements) > 100
    finally:
        conn.close()


def test_a_snapshot_reads_one_moment_however_long_its_reads_take(
    store_db: Path | PostgresServer,
) -> None:
    """A summary counts the store's changes and reads the session inside one snapshot: an
    event written between its reads must not show in one and be missing from the other."""
    writer = StoreWriter(store_db)
    writer.write_chairs([Chair("c1", "Chair 1", "/dev/ttyUSB0", "ge-s5")])
    writer.close()
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    session = commands.start_session(
        store_db, "c1", "P-1", "iv-ketamine", "Nurse Ada", at=at, weight_kg=70
    )
    conn = connect_readonly(store_db)
    try:
        with queries.snapshot(conn):
            before = len(queries.events(conn, session))
            commands.add_event(store_db, session, "note", "Nurse Ben", "later", at=at)
            assert len(queries.events(conn, session)) == before
        assert len(queries.events(conn, session)) == before + 1
    finally:
        conn.close()


def test_the_views_give_the_same_time_text_for_the_same_microseconds(
    db_path: Path, pg_url: PostgresServer
) -> None:
    """A site's view and the central store's must diff clean: both truncate to the
    millisecond, so …56.999999 reads 56.999 on both (SQLite's %f once rounded it to 57.000)."""
    second = datetime(2026, 11, 28, 12, 43, 56, tzinfo=UTC)
    times = [second + timedelta(microseconds=us) for us in (944_989, 999_999, 999, 1000, 500)]
    views = (
        "SELECT time_utc FROM readings_v ORDER BY time_utc, value",
        "SELECT started_utc, ended_utc FROM sessions_v",
    )
    seen = []
    for db in (db_path, pg_url):
        writer = StoreWriter(db)
        writer.write_chairs([Chair("c1", "Chair 1", "/dev/ttyUSB0", "ge-s5")])
        writer.write_readings([Reading(Param.HR, 70.0).stamped("c1", t, "ge-s5") for t in times])
        writer.close()
        session = commands.start_session(
            db, "c1", "P-1", "iv-ketamine", "Nurse Ada", at=times[1], weight_kg=70
        )
        commands.end_session(db, session, "Nurse Ada", "ready", at=times[0] + timedelta(1))
        conn = connect_readonly(db)
        try:
            seen.append([conn.execute(view).fetchall() for view in views])
        finally:
            conn.close()
    assert seen[0] == seen[1]
    assert [t for (t,) in seen[0][0]] == [
        "2026-11-28T12:43:56.000Z", "2026-11-28T12:43:56.000Z", "2026-11-28T12:43:56.001Z",
        "2026-11-28T12:43:56.944Z", "2026-11-28T12:43:56.999Z",
    ]  # fmt: skip
    assert seen[0][1] == [("2026-11-28T12:43:56.999Z", "2026-11-29T12:43:56.944Z")]
