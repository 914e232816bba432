"""The committed sample is what the code makes, and it is a usable history."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulators.sample_clinic import PLAN, SAMPLE_DB, build_sample
from vitals.errors import StoreError
from vitals.review import course, patients, session_page
from vitals.store import StoreWriter, connect_readonly, copy_store, queries
from vitals.store.migrations import MIGRATIONS

LATER = datetime(2027, 1, 1, tzinfo=UTC)  # every sample session has ended by then
TABLES = {
    "readings_full": "chair, t_us, device_us, param, value, unit, quality, source",
    "sessions": "*",
    "events": "id, session, chair, t_us, kind, text, value, by",  # not when it was typed
    "episodes": "*",
    "acknowledgments": "*",
}


def rows(db: Path, table: str) -> list[tuple]:
    return rows_of(db, f"SELECT {TABLES[table]} FROM {table} ORDER BY 1, 2")


def rows_of(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_committed_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    rebuilt = tmp_path / "sample.db"
    assert build_sample(rebuilt) == len(PLAN)
    for table in TABLES:
        assert rows(rebuilt, table) == rows(SAMPLE_DB, table), (
            f"{table} differs: run `python -m simulators.sample_clinic` and commit the result"
        )
    assert SAMPLE_DB.stat().st_size < 1_500_000  # small enough to commit
    # at the current schema itself, so a first demo or review does not migrate and back it up
    applied = [name for (name,) in rows_of(SAMPLE_DB, "SELECT name FROM migrations")]
    assert applied == [m.__name__ for m in MIGRATIONS], (
        "the sample is at an older schema: freeze it in data/samples/history/ and run"
        " `python -m simulators.sample_clinic` (data/samples/history/README.md)"
    )


def test_the_sample_is_a_course_to_review() -> None:
    conn = connect_readonly(SAMPLE_DB)
    listed = session_page(conn, LATER).rows
    assert len(listed) == len(PLAN) and listed.discharge.str.len().min() > 0
    assert set(patients(conn)) == {p.patient.ref for p in PLAN}
    assert listed.alerts_critical.sum() >= 1 and listed.unacknowledged.sum() >= 1
    iv = course(conn, "P-2041", LATER)
    assert len(iv) == sum(p.patient.ref == "P-2041" for p in PLAN)
    assert iv.started.is_monotonic_increasing
    assert iv.rise_sbp.notna().all() and iv.dissociation_max.notna().all()
    assert iv.side_effects.str.contains("Headache").any()


def test_copy_store_starts_a_new_database_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    copy_store(SAMPLE_DB, target)
    StoreWriter(target).close()  # opens, migrates and can write
    applied = [name for (name,) in rows_of(target, "SELECT name FROM migrations")]
    assert applied == [m.__name__ for m in MIGRATIONS]  # the sample is at the current schema
    assert rows(target, "sessions") == rows(SAMPLE_DB, "sessions")
    with pytest.raises(StoreError, match="never overwritten"):
        copy_store(SAMPLE_DB, target)
    with pytest.raises(StoreError, match="no such database"):
        copy_store(tmp_path / "missing.db", tmp_path / "other.db")


def test_the_sample_leaves_no_alarm_open() -> None:
    """Every session of the sample has ended, and so has every episode in it: nothing open
    to be carried into the next start and shade the live chart, review or report."""
    assert rows_of(SAMPLE_DB, "SELECT count(*) FROM sessions WHERE ended_us IS NULL") == [(0,)]
    assert rows_of(SAMPLE_DB, "SELECT count(*) FROM episodes WHERE ended_us IS NULL") == [(0,)]
    assert rows_of(SAMPLE_DB, "SELECT count(*) FROM episodes WHERE ended_us < started_us") == [(0,)]
    conn = connect_readonly(SAMPLE_DB)
    assert queries.visible_episodes(conn).empty  # a demo opens on calm chairs, not old alarms
