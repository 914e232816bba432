"""Rule sets stored once, named by their digest: what a session was judged by stays in the
record, shared, append-only and chained, on both engines, in a new store and in a migrated one."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import outside_writer, query
from tests.vitals.test_backup import HISTORY, unpack
from vitals.chairs import Chair
from vitals.clinical import load_protocol
from vitals.reading import utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.store.chain import trigger_name, verify
from vitals.store.connection import connect_writer
from vitals.store.location import PostgresServer
from vitals.store.migrations import (
    MIGRATIONS,
    applied,
    apply_each,
    m014_view_times_truncated,
    m015_rule_sets,
)
from vitals.store.pg import is_pg
from vitals.store.pg_migrations import PG_MIGRATIONS, pg004_rule_sets
from vitals.store.pg_migrations import applied as pg_applied
from vitals.store.rule_sets import digest
from vitals.store.sql import rules_json
from vitals.store.verify import verify_file

Store = Path | PostgresServer
IV = rules_json(load_protocol("iv-ketamine").rules)
NASAL = rules_json(load_protocol("esketamine-nasal").rules)
RAISED = rules_json(load_protocol("iv-ketamine").rules.changed("sbp-high", Level.WARNING, 170))
T0 = utc_now() - timedelta(hours=6)


def verdict(db: Store):
    conn = connect_readonly(db)
    try:
        return verify(conn)
    finally:
        conn.close()


def rules_of_sessions(db: Store) -> list[tuple[int, str]]:
    return query(
        db,
        "SELECT s.id, r.rules_json FROM sessions s JOIN rule_sets r ON r.sha256 = s.rules_sha256"
        " ORDER BY s.id",
    )


def chained_tables(db: Store, after: int = 0) -> list[tuple[str, str]]:
    return query(db, "SELECT tbl, op FROM audit_chain WHERE id > ? ORDER BY id", (after,))


def head(db: Store) -> int:
    return query(db, "SELECT coalesce(max(id), 0) FROM audit_chain")[0][0]


def two_chairs(writer: StoreWriter) -> None:
    writer.write_chairs([Chair(c, c.upper(), "loop://", "ge-s5") for c in ("c1", "c2")])


def edit_behind_the_triggers(db: Store, table: str, statement: str) -> None:
    """Every trigger out of the way for one edit, then put back as it was: a superuser's
    replication role on a server; on a file, the table's triggers dropped and re-created."""
    conn = outside_writer(db)
    if is_pg(conn):
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement)
    else:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(statement)
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()
    conn.close()


# -- a store that names rule sets from the start -------------------------------------------


def test_sessions_share_a_rule_set_and_a_nurses_change_is_a_new_one_chained_first(
    store_writer: StoreWriter, store_db: Store
) -> None:
    """Two chairs under the IV protocol share its rules; Nurse Ada raises chair 2's SBP
    warning to 170 mid-session: a new rule set, stored and chained before the session is
    pointed at it. The recorder reads the raised threshold; the record verifies."""
    two_chairs(store_writer)
    first = commands.start_session(store_db, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70)
    second = commands.start_session(store_db, "c2", "P-2", "iv-ketamine", "Nurse Ada", weight_kg=80)
    assert query(store_db, "SELECT rules_json FROM rule_sets") == [(IV,)]
    before = head(store_db)
    commands.change_threshold(store_db, second, "sbp-high", Level.WARNING, 170, "Nurse Ada")
    assert chained_tables(store_db, before) == [
        ("rule_sets", "insert"),
        ("sessions", "update"),
        ("events", "insert"),
    ]
    assert rules_of_sessions(store_db) == [(first, IV), (second, RAISED)]
    conn = connect_readonly(store_db)
    rules = queries.active_session(conn, "c2").rules
    assert rules.by_name("sbp-high").threshold(Level.WARNING) == 170
    assert queries.session_by_id(conn, first).rules == load_protocol("iv-ketamine").rules
    conn.close()
    commands.change_protocol(store_db, first, "esketamine-nasal", "Nurse Ada", dose_mg=56)
    assert [
        text for (text,) in query(store_db, "SELECT rules_json FROM rule_sets ORDER BY id")
    ] == [
        IV,
        RAISED,
        NASAL,
    ]
    assert verdict(store_db).intact


def test_a_session_link_holds_the_digest_not_the_text(
    store_writer: StoreWriter, store_db: Store
) -> None:
    """A session's changes (its dose time, its end) are chained without its 5 KB of rules."""
    two_chairs(store_writer)
    session = commands.start_session(
        store_db, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70
    )
    commands.add_event(store_db, session, "dose", "Nurse Ada")
    commands.end_session(store_db, session, "Nurse Ada", "ready")
    links = query(store_db, "SELECT op, content FROM audit_chain WHERE tbl = 'sessions'")
    assert [op for op, _ in links] == ["insert", "update", "update"]
    for _, content in links:
        assert json.loads(content)["rules_sha256"] == digest(IV) and len(content) < 600


def test_a_rule_set_is_never_changed_or_deleted(store_writer: StoreWriter, store_db: Store) -> None:
    two_chairs(store_writer)
    commands.start_session(store_db, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70)
    for statement in (
        "UPDATE rule_sets SET rules_json = replace(rules_json, '180', '200')",
        "DELETE FROM rule_sets",
    ):
        conn = outside_writer(store_db)
        with pytest.raises(sqlite3.IntegrityError, match="rule sets are part of the record"):
            conn.execute(statement)
        conn.close()


def test_a_session_must_name_a_stored_rule_set(store_writer: StoreWriter, store_db: Store) -> None:
    two_chairs(store_writer)
    conn = connect_writer(store_db)  # Chairside's own: SQLite's foreign keys on
    insert = (
        "INSERT INTO sessions (chair, patient, protocol, started_us, started_by, rules_sha256,"
        " rules_changed_us) VALUES ('c1', 'P-1', 'iv-ketamine', 1, 'Nurse Ada', ?, 1)"
    )
    for missing in (None, digest("[]")):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(insert, (missing,))
    conn.close()


# -- tampering -----------------------------------------------------------------------------


def recorded(store_writer: StoreWriter, store_db: Store) -> tuple[int, int]:
    """Two sessions under different protocols; (IV session, nasal session)."""
    two_chairs(store_writer)
    iv = commands.start_session(store_db, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70)
    nasal = commands.start_session(
        store_db, "c2", "P-2", "esketamine-nasal", "Nurse Ada", dose_mg=56
    )
    return iv, nasal


def test_a_calmer_threshold_written_into_a_rule_set_is_found(
    store_writer: StoreWriter, store_db: Store
) -> None:
    """Someone raises the critical SBP of the rules a session was judged by, so its review
    reads calm: the text differs from its chained content, and from its digest."""
    recorded(store_writer, store_db)
    (rule_set,) = query(store_db, "SELECT id FROM rule_sets WHERE rules_json = ?", (IV,))[0]
    edit_behind_the_triggers(
        store_db,
        "rule_sets",
        "UPDATE rule_sets SET rules_json = replace(rules_json, '180', '230')"
        f" WHERE id = {rule_set}",
    )
    assert f"rule_sets row {rule_set} differs from its chained content" in verdict(store_db).problem


def test_a_session_pointed_at_another_rule_set_is_found(
    store_writer: StoreWriter, store_db: Store
) -> None:
    iv, _ = recorded(store_writer, store_db)
    edit_behind_the_triggers(
        store_db,
        "sessions",
        f"UPDATE sessions SET rules_sha256 = '{digest(NASAL)}' WHERE id = {iv}",
    )
    assert f"sessions row {iv} differs from its chained content" in verdict(store_db).problem


def test_a_rule_set_edited_through_chairside_itself_is_found_by_its_digest(
    fresh_store: StoreWriter, db_path: Path
) -> None:
    """With the append-only trigger dropped, an edit through a connection that can hash is
    chained like any change: the chain holds, but the rule set no longer has its digest."""
    recorded(fresh_store, db_path)
    conn = outside_writer(db_path)
    conn.execute("DROP TRIGGER rule_sets_append_only_u")
    assert "rule_sets_append_only_u was dropped" in verify(conn).problem
    conn.execute("UPDATE rule_sets SET rules_json = replace(rules_json, '180', '230') WHERE id = 1")
    conn.execute(
        "CREATE TRIGGER rule_sets_append_only_u BEFORE UPDATE ON rule_sets"
        " BEGIN SELECT RAISE(ABORT, 'put back'); END"
    )
    conn.commit()
    assert verify(conn).problem == "rule set 1 does not match its digest (its rules were edited)"
    conn.close()


@pytest.mark.parametrize("op", ["insert", "update", "delete"])
def test_a_dropped_rule_set_trigger_is_named(fresh_store: StoreWriter, db_path: Path, op) -> None:
    recorded(fresh_store, db_path)
    conn = sqlite3.connect(db_path)
    conn.execute(f"DROP TRIGGER {trigger_name('rule_sets', op)}")
    conn.commit()
    conn.close()
    assert f"{trigger_name('rule_sets', op)} was dropped or altered" in verify_file(db_path).problem


def test_a_disabled_rule_set_trigger_is_named_on_postgresql(pg_url: PostgresServer) -> None:
    writer = StoreWriter(pg_url)
    recorded(writer, pg_url)
    writer.close()
    conn = outside_writer(pg_url)
    conn.execute("ALTER TABLE rule_sets DISABLE TRIGGER rule_sets_append_only_d")
    assert verify(conn).problem == (
        "trigger rule_sets_append_only_d was dropped: rule sets could be rewritten"
    )
    conn.execute("ALTER TABLE rule_sets ENABLE TRIGGER rule_sets_append_only_d")
    conn.execute("ALTER TABLE rule_sets DISABLE TRIGGER audit_chain_rule_sets_insert")
    assert "audit_chain_rule_sets_insert was dropped or altered" in verify(conn).problem
    conn.close()


# -- an existing store converted in place (m015 on SQLite, pg004 on PostgreSQL) -------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, db_path: Path) -> Store:
    """A store with no schema yet, on each engine."""
    return db_path if request.param == "sqlite" else request.getfixturevalue("pg_empty")


def migrated_until_rule_sets(db: Store) -> sqlite3.Connection:
    """A write connection to ``db`` with every migration before the rule sets' applied."""
    conn = connect_writer(db)
    if is_pg(conn):
        todo = PG_MIGRATIONS[: PG_MIGRATIONS.index(pg004_rule_sets)]
        apply_each(conn, todo, pg_applied, (("BEGIN", ()),))
    else:
        apply_each(conn, MIGRATIONS[: MIGRATIONS.index(m015_rule_sets)], applied)
    return conn


START_THE_OLD_WAY = (
    "INSERT INTO sessions (chair, patient, protocol, started_us, started_by, rules_json,"
    " rules_changed_us) VALUES (?, ?, ?, ?, 'Nurse Ada', ?, ?)"
)


def record_the_old_way(conn: sqlite3.Connection) -> None:
    """What Chairside wrote before rule sets had a table: each session the whole text of its
    rules, a nurse's change rewriting it; the chain's triggers of that time link each change.
    Sessions 1 and 2 (IV, the second's SBP warning raised mid-session) ended, 3 (nasal) open."""
    t = int(T0.timestamp() * 1e6)
    conn.execute(
        "INSERT INTO chairs (chair, name, position, port, protocol)"
        " VALUES ('c1', 'Chair 1', 0, 'loop://', 'ge-s5'), ('c2', 'Chair 2', 1, 'loop://', 'ge-s5')"
    )
    conn.execute(START_THE_OLD_WAY, ("c1", "P-1", "iv-ketamine", t, IV, t))
    conn.execute(START_THE_OLD_WAY, ("c2", "P-2", "iv-ketamine", t, IV, t))
    conn.execute(
        "UPDATE sessions SET rules_json = ?, rules_changed_us = ? WHERE id = 2", (RAISED, t + 60)
    )
    conn.execute(
        "INSERT INTO events (session, chair, t_us, kind, text, by, recorded_us)"
        " VALUES (2, 'c2', ?, 'threshold', 'sbp-high warning 160 -> 170', 'Nurse Ada', ?)",
        (t + 60, t + 60),
    )
    conn.execute(
        "UPDATE sessions SET ended_us = ?, ended_by = 'Nurse Ada', discharge = 'ready'"
        " WHERE id IN (1, 2)",
        (t + 3600,),
    )
    conn.execute(START_THE_OLD_WAY, ("c1", "P-3", "esketamine-nasal", t + 4000, NASAL, t + 4000))


def test_an_older_store_is_converted_in_place_and_still_finds_tampering(empty_store: Store) -> None:
    conn = migrated_until_rule_sets(empty_store)
    record_the_old_way(conn)
    changes = conn.execute("SELECT session, changes FROM session_changes ORDER BY 1").fetchall()
    before = head(empty_store)
    conn.close()
    StoreWriter(empty_store).close()  # the upgrade, as the recorder's start does it

    assert rules_of_sessions(empty_store) == [(1, IV), (2, RAISED), (3, NASAL)]
    assert query(empty_store, "SELECT rules_json FROM rule_sets ORDER BY id") == [
        (IV,), (RAISED,), (NASAL,)
    ]  # fmt: skip
    relinked = query(
        empty_store, "SELECT tbl, op, content FROM audit_chain WHERE id > ? ORDER BY id", (before,)
    )
    assert [(table, op) for table, op, _ in relinked] == [("rule_sets", "existing")] * 3 + [
        ("sessions", "existing")
    ] * 3  # every rule set before the first session that names it
    assert all("rules_json" not in content for table, _, content in relinked if table == "sessions")
    # the summaries of ended sessions stay current: the rules they were computed under are kept
    assert query(empty_store, "SELECT session, changes FROM session_changes ORDER BY 1") == changes
    assert verdict(empty_store).intact

    commands.change_threshold(empty_store, 3, "sbp-high", Level.WARNING, 150, "Nurse Ada")
    assert verdict(empty_store).intact  # the record goes on
    edit_behind_the_triggers(
        empty_store,
        "rule_sets",
        "UPDATE rule_sets SET rules_json = replace(rules_json, '180', '230') WHERE id = 1",
    )
    assert "rule_sets row 1 differs from its chained content" in verdict(empty_store).problem


HUMAN_RECORD = ("chairs", "sessions", "events", "episodes", "acknowledgments")


def pour(sample: Path, conn: sqlite3.Connection) -> None:
    """The sample's chairs and human record written into another store of its schema, every
    column as it is (its chain's triggers link each row)."""
    source = sqlite3.connect(sample)
    for table in HUMAN_RECORD:
        cursor = source.execute(f"SELECT * FROM {table} ORDER BY 1")
        names = ", ".join(f'"{c[0]}"' for c in cursor.description)
        marks = ", ".join("?" for _ in cursor.description)
        insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        for row in cursor:
            conn.execute(insert, row)
    source.close()


def test_the_committed_sample_keeps_each_sessions_rules_on_both_engines(
    empty_store: Store, tmp_path: Path
) -> None:
    """The committed sample as the schema before rule sets held it, migrated on SQLite (the
    file itself) and on PostgreSQL (its record poured into a server at that schema)."""
    older = unpack(
        HISTORY / f"clinic-sample.{m014_view_times_truncated.__name__}.db.gz", tmp_path / "o.db"
    )
    before = query(older, "SELECT id, rules_json FROM sessions ORDER BY id")
    if isinstance(empty_store, PostgresServer):
        conn = migrated_until_rule_sets(empty_store)
        pour(older, conn)
        conn.close()
    else:
        empty_store = older
    StoreWriter(empty_store).close()
    assert rules_of_sessions(empty_store) == before and len(before) == 10
    distinct = {text for _, text in before}
    assert len(query(empty_store, "SELECT 1 FROM rule_sets")) == len(distinct) == 2
    assert verdict(empty_store).intact


def test_a_migrated_store_has_a_new_stores_schema_and_triggers(
    fresh_store: StoreWriter, db_path: Path, tmp_path: Path
) -> None:
    older = unpack(
        HISTORY / f"clinic-sample.{m014_view_times_truncated.__name__}.db.gz", tmp_path / "o.db"
    )
    StoreWriter(older).close()
    schema = (
        "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'rule_sets%'"
        " OR tbl_name IN ('sessions', 'rule_sets') ORDER BY type, name"
    )
    assert query(older, schema) == query(db_path, schema)
    assert "rules_json" not in [
        c for (c,) in query(older, "SELECT name FROM pragma_table_info('sessions')")
    ]


def test_the_backup_kept_before_the_upgrade_still_verifies_as_it_was_chained(
    tmp_path: Path,
) -> None:
    """The copy the upgrade keeps holds each session's rules as text, chained that way: it
    verifies as the start of the live record, and an edit of its rules is still found."""
    live = unpack(
        HISTORY / f"clinic-sample.{m014_view_times_truncated.__name__}.db.gz", tmp_path / "o.db"
    )
    StoreWriter(live).close()
    (kept,) = (tmp_path / "backups").glob(f"*-before-{m015_rule_sets.__name__}.db")
    assert verify_file(kept, against=live).intact
    edit_behind_the_triggers(
        kept, "sessions", "UPDATE sessions SET rules_json = replace(rules_json, '180', '230')"
    )
    assert "sessions row 1 differs from its chained content" in verify_file(kept).problem


def test_a_servers_accounts_keep_their_rights_through_the_upgrade(
    pg_empty: PostgresServer,
) -> None:
    """IT gave the site's writer rows on every table and a station SELECT, before rule sets
    had a table: after the upgrade the writer still starts a session (its rules are a new
    row of rule_sets) and the station still reads and verifies the record."""
    conn = migrated_until_rule_sets(pg_empty)
    site, station = f"site_{pg_empty.dbname}", f"station_{pg_empty.dbname}"
    for statement in (
        f"CREATE ROLE {site} LOGIN",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {site}",
        f"CREATE ROLE {station} LOGIN",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {station}",
    ):
        conn.execute(statement)
    conn.close()
    StoreWriter(pg_empty).close()  # the owner's upgrade
    as_site = PostgresServer(pg_empty.url.replace("chairside_test@", f"{site}@"))
    writer = StoreWriter(as_site)
    try:
        two_chairs(writer)
        commands.start_session(as_site, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70)
    finally:
        writer.close()
    as_station = PostgresServer(pg_empty.url.replace("chairside_test@", f"{station}@"))
    assert rules_of_sessions(as_station) == [(1, IV)]
    assert verify_file(as_station).intact
