import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import query, view_columns
from vitals.chairs import Chair
from vitals.device_state import DeviceState, LinkState
from vitals.engine import CLINICAL, Episode
from vitals.errors import StoreError
from vitals.reading import Param, Quality, Reading
from vitals.rules import Level
from vitals.store import StoreWriter, connect_readonly, queries, sql
from vitals.store import writer as writer_module
from vitals.store.location import PostgresServer
from vitals.store.migrations import MIGRATIONS, migrate
from vitals.store.writer import _Ticket

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
Store = Path | PostgresServer


def reading(param: Param, value: float | None, seconds: float, chair: str = "c1", **kw) -> Reading:
    return Reading(param, value, **kw).stamped(chair, T0 + timedelta(seconds=seconds), "ge-s5")


def test_new_database_is_wal_and_fully_migrated(fresh_store: StoreWriter, db_path: Path) -> None:
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    names = [row[0] for row in query(db_path, "SELECT name FROM migrations")]
    assert names == [m.__name__ for m in MIGRATIONS]


def test_migrate_is_idempotent_and_refuses_a_newer_schema(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    assert migrate(conn) == [m.__name__ for m in MIGRATIONS]
    assert migrate(conn) == []
    conn.execute("INSERT INTO migrations VALUES ('m999_from_the_future', 'x')")
    with pytest.raises(StoreError, match="m999_from_the_future"):
        migrate(conn)


def test_failed_migration_leaves_no_trace(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def m002_broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr("vitals.store.migrations.MIGRATIONS", [*MIGRATIONS, m002_broken])
    conn = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(RuntimeError):
        migrate(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables and "readings" in tables


def test_readings_view_for_outside_tools(store_writer: StoreWriter, store_db: Store) -> None:
    store_writer.write_readings(
        [reading(Param.SBP, 184.0, 0.25), reading(Param.HR, None, 1, quality=Quality.INVALID)]
    )
    rows = query(store_db, "SELECT * FROM readings_v ORDER BY time_utc")
    assert rows == [
        ("c1", "2026-03-01T09:00:00.250Z", "sbp", 184.0, "mmHg", "ok"),
        ("c1", "2026-03-01T09:00:01.000Z", "hr", None, "bpm", "invalid"),
    ]
    columns = view_columns(store_db, "readings_v")
    assert columns == ["chair", "time_utc", "param", "value", "unit", "quality"]


def test_store_accepts_exactly_the_vocabulary_params(
    store_writer: StoreWriter, store_db: Store
) -> None:
    store_writer.write_readings([reading(p, 1.0, i) for i, p in enumerate(Param)])
    assert {r[0] for r in query(store_db, "SELECT param FROM readings_full")} == {
        p.value for p in Param
    }


def test_latest_and_window_queries(fresh_store: StoreWriter, db_path: Path) -> None:
    """SQLite only until the page queries speak both engines (the PostgreSQL read side)."""
    fresh_store.write_chairs(
        [Chair("c1", "One", "loop://", "ge-s5"), Chair("c2", "Two", "x", "ge-s5")]
    )
    fresh_store.write_readings(
        [reading(Param.HR, float(60 + s), s) for s in range(10)]
        + [reading(Param.HR, 99.0, 3, chair="c2")]
    )
    conn = connect_readonly(db_path)
    latest = queries.latest_readings(conn)
    assert latest[["chair", "param", "value"]].values.tolist() == [
        ["c1", "hr", 69.0],
        ["c2", "hr", 99.0],
    ]
    window = queries.readings_between(
        conn, "c1", T0 + timedelta(seconds=2), T0 + timedelta(seconds=5)
    )
    assert window.value.tolist() == [62.0, 63.0, 64.0]
    assert str(window.time.dt.tz) == "UTC"
    chart = queries.chart_readings(conn, "c1", T0 + timedelta(seconds=2), T0 + timedelta(seconds=5))
    columns = ["time", "param", "value", "quality"]
    pd.testing.assert_frame_equal(chart, window[columns], check_dtype=False)
    assert queries.chart_readings(conn, "c3", T0).columns.tolist() == columns
    assert queries.chairs(conn).chair.tolist() == ["c1", "c2"]


def test_device_state_and_heartbeat(store_writer: StoreWriter, store_db: Store) -> None:
    state = DeviceState("c1", LinkState.DISCONNECTED, T0, 5, 2, 1, "cable out")
    store_writer.write_device_state(state, 123)
    store_writer.beat(1, 2_000_000)
    conn = connect_readonly(store_db)
    row = queries.device_states(conn).iloc[0]
    assert (row.state, row.frames_ok, row.frames_bad, row.reconnects, row.last_error) == (
        "disconnected",
        5,
        2,
        1,
        "cable out",
    )
    assert row.unused == {}
    beat = queries.heartbeat(conn)
    assert beat["beat"].second == 2 and beat["stopped"] is None


def test_what_a_device_sent_but_gave_no_reading_is_kept_by_kind(
    store_writer: StoreWriter, store_db: Store
) -> None:
    unused = {"OBX 150344 MDC_TEMP": 12, "poll answer outside an association": 3}
    store_writer.write_device_state(DeviceState("c1", LinkState.CONNECTED, T0, unused=unused), 1)
    store_writer.write_device_state(DeviceState("c1", LinkState.CONNECTED, T0, unused={}), 2)
    store_writer.write_device_state(DeviceState("c1", LinkState.CONNECTED, T0, unused=unused), 3)
    assert queries.device_states(connect_readonly(store_db)).iloc[0].unused == unused


def test_a_failing_write_is_reported_and_others_in_the_group_survive(
    store_writer: StoreWriter, store_db: Store
) -> None:
    great = ("c1", "hr", "bpm", 1, 70.0, "great", "ge-s5", None)  # no such quality
    # SQLite: NOT NULL constraint failed: readings.quality_key; PostgreSQL: null value in
    # column "quality_key" of relation "readings_…" violates not-null constraint
    with pytest.raises(StoreError, match=r"quality_key"):
        store_writer._submit(_Ticket(lambda conn: sql.insert_readings(conn, [great])))
    store_writer.write_readings([reading(Param.HR, 71.0, 1)])
    assert query(store_db, "SELECT value FROM readings_full") == [(71.0,)]


def test_writes_are_committed_before_write_returns(
    store_writer: StoreWriter, store_db: Store
) -> None:
    for i in range(20):
        store_writer.write_readings([reading(Param.HR, float(i), i)])
        # a separate connection sees it at once: it is committed, not merely queued
        assert query(store_db, "SELECT count(*) FROM readings") == [(i + 1,)]


def test_readonly_connection_cannot_write(store_writer: StoreWriter, store_db: Store) -> None:
    conn = connect_readonly(store_db)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM readings")


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist yet"):
        connect_readonly(tmp_path / "none.db")


def test_latest_nibp_for_priming(store_writer: StoreWriter) -> None:
    store_writer.write_readings([reading(Param.SBP, 120.0, 0), reading(Param.SBP, 131.0, 5)])
    assert store_writer.latest_nibp("c1") == {"sbp": 131.0}


def test_an_alarm_is_not_held_back_by_readings_waiting_to_share_a_commit(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readings wait up to GROUP_S for others to share their commit; an alarm episode (or
    anything else a caller waits for) closes the group at once and takes them along. The
    wait is made a minute here, so only the episode can have ended it."""
    monkeypatch.setattr(writer_module, "GROUP_S", 60.0)
    store = StoreWriter(db_path)
    try:
        rows = [sql.reading_row(reading(Param.SBP, 184.0, 0))]
        posted = _Ticket(lambda conn: sql.insert_readings(conn, rows), True, grouped=True)
        store._submit(posted, wait=False)  # as a worker posts a record: first in the queue
        alarm = Episode("sbp-high", CLINICAL, Level.CRITICAL, T0, param=Param.SBP)
        began = time.monotonic()
        store.write_episodes("c1", None, [alarm])  # returns once committed
        assert time.monotonic() - began < 10
        assert posted.answered.wait(10) and posted.committed
        assert query(db_path, "SELECT count(*) FROM readings") == [(1,)]
        assert query(db_path, "SELECT rule, level FROM episodes") == [("sbp-high", "critical")]
    finally:
        store.close()


def test_a_link_going_down_is_committed_at_once_and_counters_may_wait(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device's counters share the next group's commit; a change of its link is written
    at once, so the station never shows a link as up for longer than the grouping wait."""
    monkeypatch.setattr(writer_module, "GROUP_S", 60.0)
    store = StoreWriter(db_path)
    try:
        counters = DeviceState("c1", LinkState.CONNECTED, T0, frames_ok=5)
        store.write_device_state(counters, 1, wait=False, change=False)
        down = DeviceState("c1", LinkState.DISCONNECTED, T0, last_error="port failed")
        began = time.monotonic()
        store.write_device_state(down, 2)  # returns once committed, with the counters
        assert time.monotonic() - began < 10
        assert query(db_path, "SELECT state, last_error, updated_us FROM device_state") == [
            ("disconnected", "port failed", 2)
        ]
    finally:
        store.close()
