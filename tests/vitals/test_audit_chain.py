"""The record no one can quietly change: every change to sessions, events, acknowledgments
and episodes is chained, and ``verify`` finds any change made around Chairside."""

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from chairside.cli import main
from simulators.sample_clinic import SAMPLE_DB
from tests.conftest import outside_writer, query
from tests.vitals.test_backup import HISTORY, unpack
from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands
from vitals.store.backup import backup_store
from vitals.store.chain import CHAINED, trigger_sql
from vitals.store.location import PostgresServer
from vitals.store.migrations import m010_recorder_supervision, m012_central_relay
from vitals.store.pg import is_pg
from vitals.store.verify import verify_file
from vitals.users import add_user


def record_a_session(writer: StoreWriter, db: Path | PostgresServer) -> int:
    """A session with events, a critical episode that evolved, and an acknowledgment;
    returns the episode's id."""
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    session = commands.start_session(db, "c1", "P-0042", "iv-ketamine", "Nurse Ada", weight_kg=70)
    commands.add_event(db, session, "dose", "Nurse Ada")
    now = utc_now()
    episode = Episode(
        "sbp-high",
        CLINICAL,
        Level.WARNING,
        now,
        Param.SBP,
        peak_value=172.0,
        peak_time=now,
        reason="SBP 172",
    )
    writer.write_episodes("c1", session, [episode])
    writer.write_episodes("c1", session, [episode])  # unchanged: no new link
    critical = replace(episode, level=Level.CRITICAL, peak_value=183.0, reason="SBP 183")
    writer.write_episodes("c1", session, [critical])
    (episode_id,) = query(db, "SELECT id FROM episodes")[0]
    commands.acknowledge(db, episode_id, "Nurse Ada", "called the doctor")
    return episode_id


@pytest.fixture
def recorded(fresh_store: StoreWriter, db_path: Path) -> tuple[Path, int]:
    """A recorded session in a SQLite file, for what only a file allows (sqlite3 on it)."""
    return db_path, record_a_session(fresh_store, db_path)


@pytest.fixture
def recorded_anywhere(
    store_writer: StoreWriter, store_db: Path | PostgresServer
) -> tuple[Path | PostgresServer, int]:
    """The same session on each engine."""
    return store_db, record_a_session(store_writer, store_db)


def tamper(db: Path, *statements: str) -> None:
    """What someone with sqlite3 and write access to the file could do."""
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_every_change_is_chained_and_verifies(
    recorded_anywhere: tuple[Path | PostgresServer, int], capsys: pytest.CaptureFixture
) -> None:
    db, _ = recorded_anywhere
    links = query(db, "SELECT tbl, op FROM audit_chain ORDER BY id")
    assert links == [
        ("rule_sets", "insert"),  # the protocol's rules, before the session that names them
        ("sessions", "insert"),
        ("events", "insert"),  # session-start
        ("events", "insert"),  # dose
        ("sessions", "update"),  # the dose time
        ("episodes", "insert"),
        ("episodes", "update"),  # warning -> critical, 172 -> 183; the repeat left no link
        ("acknowledgments", "insert"),
    ]
    assert main(["verify", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "record verified: 8 links intact" in out


def test_an_edit_with_sqlite3_is_refused(recorded: tuple[Path, int]) -> None:
    db, episode_id = recorded
    with pytest.raises(sqlite3.OperationalError, match="chairside_chain_hash"):
        tamper(db, f"UPDATE episodes SET level = 'advisory' WHERE id = {episode_id}")


def test_dropping_and_recreating_the_triggers_leaves_a_trace(
    recorded: tuple[Path, int], capsys: pytest.CaptureFixture
) -> None:
    db, episode_id = recorded
    tamper(
        db,
        "DROP TRIGGER audit_chain_episodes_update",
        f"UPDATE episodes SET level = 'advisory', peak_value = 120 WHERE id = {episode_id}",
        trigger_sql("episodes", "update"),
    )
    assert main(["verify", "--db", str(db)]) == 1
    assert f"episodes row {episode_id} differs from its chained content" in capsys.readouterr().out


def test_a_dropped_trigger_is_named(recorded: tuple[Path, int]) -> None:
    db, _ = recorded
    tamper(db, "DROP TRIGGER audit_chain_sessions_update")
    assert "audit_chain_sessions_update was dropped" in verify_file(db).problem


def test_an_edited_or_shortened_chain_is_found(recorded: tuple[Path, int], tmp_path: Path) -> None:
    db, _ = recorded
    copy = backup_store(db, tmp_path / "b").path
    tamper(
        copy,
        "DROP TRIGGER audit_chain_append_only_u",
        "UPDATE audit_chain SET content = replace(content, '183', '120') WHERE id = 7",
    )
    assert verify_file(copy).problem == "link 7 (episodes row 1) altered"
    tamper(db, "DROP TRIGGER audit_chain_append_only_d", "DELETE FROM audit_chain WHERE id = 3")
    assert verify_file(db).problem == "link 4 does not follow link 2"


def test_a_deleted_or_smuggled_row_is_found(recorded: tuple[Path, int]) -> None:
    db, episode_id = recorded
    tamper(db, "DROP TRIGGER audit_chain_episodes_delete")
    tamper(db, f"DELETE FROM episodes WHERE id = {episode_id}", trigger_sql("episodes", "delete"))
    assert (
        verify_file(db).problem
        == f"episodes row {episode_id} is missing (deleted outside Chairside)"
    )


def test_a_backup_verifies_and_must_be_the_start_of_the_live_chain(
    recorded: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db, episode_id = recorded
    copy = backup_store(db, tmp_path / "b").path
    commands.acknowledge(db, episode_id, "Nurse Ben")  # the record goes on after the backup
    assert main(["verify", "--db", str(copy), "--against", str(db)]) == 0
    other = tmp_path / "other.db"
    StoreWriter(other).close()
    commands.register_chairs(other, [Chair("c1", "Chair 1", "loop://", "ge-s5")])
    commands.start_session(other, "c1", "P-9", "esketamine-nasal", "Nurse Eve", dose_mg=56)
    capsys.readouterr()
    assert main(["verify", "--db", str(copy), "--against", str(other)]) == 1
    assert "history rewritten" in capsys.readouterr().out


def test_a_store_from_before_the_chain_is_chained_when_migrated(tmp_path: Path) -> None:
    """The committed sample (generated at the current schema) verifies, and so does an older
    store once migrated: what it held becomes the chain's first links."""
    assert verify_file(SAMPLE_DB).intact
    older = unpack(  # the store as it was before the chain
        HISTORY / f"clinic-sample.{m010_recorder_supervision.__name__}.db.gz", tmp_path / "o.db"
    )
    StoreWriter(older).close()
    verdict = verify_file(older)
    stored = sum(query(older, f"SELECT count(*) FROM {t}")[0][0] for t in CHAINED)
    again = query(older, "SELECT (SELECT count(*) FROM acknowledgments) + count(*) FROM sessions")
    # every row linked once (rule sets when they got their own table), and linked again:
    # acknowledgments when their level seen was chained, sessions when they named rule sets
    assert verdict.intact and verdict.links == stored + again[0][0], verdict


def edit_behind_the_triggers(db: Path | PostgresServer, statement: str) -> None:
    """Every trigger out of the way for one edit: a superuser's replication role on a
    server; on a file, the acknowledgments' refusal and chain triggers dropped, the chain's
    put back as it was."""
    conn = outside_writer(db)
    if is_pg(conn):
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement)
    else:
        conn.execute("DROP TRIGGER acknowledgments_append_only_u")
        conn.execute("DROP TRIGGER audit_chain_acknowledgments_update")
        conn.execute(statement)
        conn.execute(trigger_sql("acknowledgments", "update"))
        conn.commit()
    conn.close()


def test_an_edit_of_the_level_the_nurse_saw_is_found(
    recorded_anywhere: tuple[Path | PostgresServer, int], capsys: pytest.CaptureFixture
) -> None:
    """Nurse Ben acknowledged the alert while it was critical; afterwards someone makes the
    record say he saw only a warning. ``verify`` finds it on either engine."""
    db, episode_id = recorded_anywhere
    commands.acknowledge(db, episode_id, "Nurse Ben", "at the chair", level_seen="critical")
    ((ack, content),) = query(
        db,
        "SELECT row_id, content FROM audit_chain WHERE tbl = 'acknowledgments'"
        " ORDER BY id DESC LIMIT 1",
    )
    assert '"level_seen"' in content and "critical" in content
    assert main(["verify", "--db", str(db)]) == 0
    edit_behind_the_triggers(
        db, f"UPDATE acknowledgments SET level_seen = 'warning' WHERE id = {ack}"
    )
    capsys.readouterr()
    assert main(["verify", "--db", str(db)]) == 1
    assert f"acknowledgments row {ack} differs from its chained content" in capsys.readouterr().out


def test_a_store_from_before_the_level_seen_was_chained_verifies_when_migrated(
    fresh_store: StoreWriter, db_path: Path, tmp_path: Path
) -> None:
    """The committed sample as the schema before the change held it, with an acknowledgment
    that recorded the level she saw (chained then without it): migrated, every acknowledgment
    is linked again with all its columns, the triggers are a new store's, and a later edit of
    the level is found."""
    older = unpack(
        HISTORY / f"clinic-sample.{m012_central_relay.__name__}.db.gz", tmp_path / "o.db"
    )
    conn = outside_writer(older)  # what the older Chairside wrote
    conn.execute(
        "INSERT INTO acknowledgments (episode, by, t_us, comment, level_seen)"
        " SELECT id, 'Nurse Ada', started_us + 1000000, '', level FROM episodes"
        " WHERE level <> 'advisory' ORDER BY id LIMIT 1"
    )
    conn.commit()
    conn.close()
    ((ack, level, old_link),) = query(
        older,
        "SELECT a.id, a.level_seen, c.content FROM acknowledgments a JOIN audit_chain c"
        " ON c.tbl = 'acknowledgments' AND c.row_id = a.id ORDER BY a.id DESC LIMIT 1",
    )
    assert level and "level_seen" not in old_link
    StoreWriter(older).close()  # the upgrade
    assert verify_file(older).intact
    relinked = query(
        older,
        "SELECT a.id, c.content FROM acknowledgments a JOIN audit_chain c ON c.tbl ="
        " 'acknowledgments' AND c.row_id = a.id AND c.op = 'existing' ORDER BY a.id",
    )
    (acknowledgments,) = query(older, "SELECT count(*) FROM acknowledgments")[0]
    assert len(relinked) == acknowledgments > 1
    assert all('"level_seen"' in content for _, content in relinked)
    chain_triggers = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        " AND name LIKE 'audit_chain%' ORDER BY name"
    )
    assert query(older, chain_triggers) == query(db_path, chain_triggers)
    edit_behind_the_triggers(  # what she saw, made calmer
        older, f"UPDATE acknowledgments SET level_seen = 'advisory' WHERE id = {ack}"
    )
    assert f"acknowledgments row {ack} differs" in verify_file(older).problem


def test_store_users_and_backups_are_readable_by_their_owner_only(
    recorded: tuple[Path, int], tmp_path: Path
) -> None:
    db, _ = recorded
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "correct horse")
    copy = backup_store(db, tmp_path / "b").path
    for path in (db, Path(f"{db}-wal"), users, copy):
        assert os.stat(path).st_mode & 0o777 == 0o600, path
