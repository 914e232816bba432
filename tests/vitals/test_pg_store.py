"""PostgreSQL as the store: what only a server has (partitions, its own refusals, a dropped
connection) and the audit rules kept by the database itself, on the tests' own server."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chairside.cli import main
from tests.conftest import outside_writer, query, wait_for
from tests.pg_cluster import Cluster
from tests.vitals.test_audit_chain import record_a_session
from vitals.chairs import Chair
from vitals.engine import Episode
from vitals.errors import ConfigError, StoreError
from vitals.nurse_tokens import TOKEN_ENV, create_token
from vitals.reading import Param, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.chain import CHAINED, pg_function_sql, verify
from vitals.store.connection import connect_writer
from vitals.store.location import PostgresServer, SqliteFile, parse
from vitals.store.notifications import Notification, station_seen
from vitals.store.pg import translate
from vitals.store.pg_migrations import (
    PG_MIGRATIONS,
    ensure_partitions,
    migrate,
    pg003_chain_level_seen,
)
from vitals.store.verify import verify_file
from vitals.times import to_us
from vitals.users import add_user


def reading(param: Param, value: float, at: datetime, chair: str = "c1") -> Reading:
    return Reading(param, value).stamped(chair, at, "ge-s5")


@pytest.fixture
def writer(pg_url: PostgresServer):
    store = StoreWriter(pg_url)
    store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    yield store
    store.close()


@pytest.fixture
def recorded(writer: StoreWriter, pg_url: PostgresServer) -> PostgresServer:
    """A session with a dose, an alert that escalated and an acknowledgment, on the server."""
    record_a_session(writer, pg_url)
    return pg_url


# -- where the store is ------------------------------------------------------------------


def test_a_path_is_a_file_and_a_url_is_a_server_described_without_secrets() -> None:
    assert parse("data/chairside.db") == SqliteFile(Path("data/chairside.db"))
    server = parse("postgresql://chairside@db.clinic.example:5433/central")
    assert server.describe() == "PostgreSQL database central on chairside@db.clinic.example:5433"
    socket = parse("postgres://chairside@/central?host=/run/postgresql")
    assert socket.describe() == "PostgreSQL database central on chairside@/run/postgresql"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://chairside:s3cret@db.example/central",
        "postgresql://chairside@db.example/central?password=s3cret",
    ],
)
def test_a_password_in_the_url_is_refused_and_never_repeated(
    url: str, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command, the dashboard too, refuses it before anything is started or written."""
    with pytest.raises(ConfigError, match="PGPASSFILE or PGPASSWORD, never on the command line"):
        parse(url)
    monkeypatch.chdir(tmp_path)
    for command in (
        ["session", "end", "--db", url, "--session", "1", "--by", "Nurse Ada"],
        ["dashboard", "--db", url, "--users", str(tmp_path / "users.toml")],
    ):
        with pytest.raises(SystemExit):
            main(command)
        err = capsys.readouterr().err
        assert "PGPASSFILE" in err and "s3cret" not in err
    assert list(tmp_path.iterdir()) == []  # no log folder named after the URL, no file at all


def test_a_url_without_a_database_or_of_another_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="names no database"):
        parse("postgresql://chairside@db.example")
    with pytest.raises(ConfigError, match="not a store Chairside knows"):
        parse("mysql://chairside@db.example/central")


def test_file_only_commands_say_so_in_one_line(
    pg_url: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["backup", "--db", str(pg_url), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "backup works on a SQLite file" in err and "pg_dump" in err
    assert main(["record", "--config", str(tmp_path / "x.toml"), "--db", str(pg_url)]) == 1
    assert "local SQLite file first" in capsys.readouterr().err


def test_an_unreachable_server_is_a_clear_store_error(pg_cluster: Cluster) -> None:
    with pytest.raises(StoreError, match="cannot open PostgreSQL database nowhere"):
        connect_writer(PostgresServer(pg_cluster.url("nowhere")))


# -- the schema ---------------------------------------------------------------------------


def test_the_migrations_are_named_transactional_and_refuse_a_newer_schema(
    pg_empty: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_writer(pg_empty)

    def pg999_broken(conn) -> None:
        conn.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr("vitals.store.pg_migrations.PG_MIGRATIONS", [*PG_MIGRATIONS, pg999_broken])
    with pytest.raises(RuntimeError):
        migrate(conn)
    assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
    monkeypatch.undo()
    assert migrate(conn) == []  # the good ones were each committed with their record
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY applied_utc")]
    assert names == [m.__name__ for m in PG_MIGRATIONS]
    conn.execute("INSERT INTO migrations VALUES ('pg999_from_the_future', 'z')")
    with pytest.raises(StoreError, match="pg999_from_the_future"):
        migrate(conn)
    conn.close()


def test_text_sorts_byte_by_byte_as_on_sqlite_whatever_the_servers_locale(
    pg_url: PostgresServer,
) -> None:
    other = query(
        pg_url,
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = 'text'"
        " AND table_name NOT IN ('migrations') AND table_name NOT LIKE '%\\_v' ESCAPE '\\'"
        " AND table_name <> 'readings_full' AND collation_name IS DISTINCT FROM 'C'",
    )
    assert other == []


def test_views_have_the_columns_outside_tools_know(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    at = datetime(2026, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)
    writer.write_readings([reading(Param.SBP, 184.0, at)])
    assert query(pg_url, "SELECT * FROM readings_v") == [
        ("c1", "2026-03-01T09:00:00.250Z", "sbp", 184.0, "mmHg", "ok")
    ]
    assert query(
        pg_url, "SELECT chair, t_us, param, value, unit, quality, source, seq FROM readings_full"
    ) == [("c1", to_us(at), "sbp", 184.0, "mmHg", "ok", "ge-s5", 0)]


def test_readings_go_to_their_month_and_a_month_without_one_to_the_default(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    now = utc_now()
    long_ago = datetime(2019, 6, 15, 12, tzinfo=UTC)
    writer.write_readings([reading(Param.HR, 70.0, now), reading(Param.HR, 71.0, long_ago)])
    where = "SELECT tableoid::regclass::text, value FROM readings ORDER BY t_us"
    assert query(pg_url, where) == [("readings_default", 71.0), (f"readings_{now:%Y%m}", 70.0)]
    # the month is made later: what the default partition held for it moves into it
    conn = connect_writer(pg_url)
    assert conn.execute("SELECT readings_partition('2019-06-01')").fetchone() == (
        "readings_201906",
    )
    conn.close()
    assert query(pg_url, where) == [("readings_201906", 71.0), (f"readings_{now:%Y%m}", 70.0)]
    assert query(pg_url, "SELECT count(*) FROM readings_default") == [(0,)]


def test_the_writer_keeps_the_next_months_ready(pg_url: PostgresServer) -> None:
    conn = connect_writer(pg_url)
    names = ensure_partitions(conn)
    conn.close()
    first = utc_now().replace(day=1)
    assert names[0] == f"readings_{first:%Y%m}" and len(names) == 3
    parts = query(pg_url, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass")
    assert parts[0][0] >= 4  # the months around now and the default


def test_latest_per_chair_and_a_chairs_window_are_index_probes(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    t0 = utc_now() - timedelta(hours=1)
    writer.write_readings(
        [reading(Param.HR, 60.0 + i % 40, t0 + timedelta(seconds=i)) for i in range(3000)]
    )
    conn = connect_writer(pg_url)
    conn.execute("ANALYZE readings")
    conn.execute("SET enable_seqscan = off")  # a small table: ask which index the plan would use
    latest = "\n".join(
        r[0]
        for r in conn.execute(
            "EXPLAIN SELECT value FROM readings WHERE chair_key = 1 AND param_key = 2"
            " ORDER BY t_us DESC, seq DESC LIMIT 1"
        )
    )
    window = "\n".join(
        r[0]
        for r in conn.execute(
            "EXPLAIN SELECT * FROM readings WHERE chair_key = 1 AND t_us BETWEEN ? AND ?",
            (to_us(t0), to_us(t0) + 60_000_000),
        )
    )
    conn.close()
    # each month's key walked backwards and merged: one probe a partition, nothing sorted
    steps = [line.strip().removeprefix("->  ") for line in latest.splitlines()]
    assert "Index Scan Backward" in latest and not any(s.startswith("Sort  (") for s in steps)
    assert "readings_chair_time" in window or "chair_key_t_us" in window


# -- the audit rules, kept by the database ------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET text = 'x'",
        "DELETE FROM events",
        "TRUNCATE events CASCADE",
        "DELETE FROM acknowledgments",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
    ],
)
def test_the_audit_trail_refuses_change_whoever_asks(
    recorded: PostgresServer, statement: str
) -> None:
    conn = outside_writer(recorded)
    with pytest.raises(sqlite3.IntegrityError, match=r"never (updated|deleted|truncated)"):
        conn.execute(statement)
    conn.close()
    assert verify(connect_readonly(recorded)).intact


def test_a_change_around_the_triggers_is_found(recorded: PostgresServer) -> None:
    """What a database owner could do: switch the triggers off, edit, switch them on."""
    conn = outside_writer(recorded)
    conn.execute("ALTER TABLE sessions DISABLE TRIGGER USER")
    assert "trigger audit_chain_sessions_insert was dropped or altered" in verify(conn).problem
    conn.execute("UPDATE sessions SET patient = 'P-9999'")
    conn.execute("ALTER TABLE sessions ENABLE TRIGGER USER")
    verdict = verify(connect_readonly(recorded))
    assert (
        not verdict.intact and "sessions row 1 differs from its chained content" in verdict.problem
    )


def test_an_altered_chain_function_or_link_is_found(recorded: PostgresServer) -> None:
    conn = outside_writer(recorded)
    conn.execute(
        "CREATE OR REPLACE FUNCTION audit_chain_events() RETURNS TRIGGER LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN NULL; END $$"
    )
    assert "trigger audit_chain_events_insert was dropped or altered" in verify(conn).problem
    conn.execute("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only_u")
    conn.execute(
        "UPDATE audit_chain SET content = replace(content, 'P-0042', 'P-0043') WHERE id = 2"
    )  # link 1 is the session's rule set
    verdict = verify(conn)
    assert not verdict.intact and "link 2 (sessions row 1) altered" in verdict.problem
    conn.close()


def test_a_deleted_row_is_found(recorded: PostgresServer) -> None:
    conn = outside_writer(recorded)
    conn.execute("SET session_replication_role = replica")  # every trigger off, as a superuser
    conn.execute("DELETE FROM acknowledgments")
    verdict = verify_file(recorded)
    assert "acknowledgments row 1 is missing (deleted outside Chairside)" in verdict.problem
    conn.close()


def test_a_server_from_before_the_level_seen_was_chained_is_relinked_when_migrated(
    recorded: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server set up before the chain covered the level the nurse saw: its acknowledgments
    function as pg001 made it then, an acknowledgment chained without the level. Migrated,
    the function is the current one, every acknowledgment is linked again with the level,
    and an edit of it afterwards is found."""
    conn = outside_writer(recorded)
    with monkeypatch.context() as before:
        columns = tuple(c for c in CHAINED["acknowledgments"] if c != "level_seen")
        before.setitem(CHAINED, "acknowledgments", columns)
        conn.execute(pg_function_sql("acknowledgments"))
    conn.execute("DELETE FROM migrations WHERE name = ?", (pg003_chain_level_seen.__name__,))
    conn.execute(
        'INSERT INTO acknowledgments (episode, "by", t_us, level_seen)'
        " SELECT id, 'Nurse Ben', started_us + 1000000, level FROM episodes"
    )
    ((ack, old_link),) = query(
        recorded,
        "SELECT row_id, content FROM audit_chain ORDER BY id DESC LIMIT 1",
    )
    assert "level_seen" not in old_link
    assert "audit_chain_acknowledgments_insert was dropped or altered" in verify(conn).problem
    assert migrate(conn) == [pg003_chain_level_seen.__name__]
    assert verify(conn).intact
    relinked = query(
        recorded,
        "SELECT row_id, content FROM audit_chain WHERE op = 'existing' ORDER BY id",
    )
    assert [row_id for row_id, _ in relinked] == [1, ack]
    assert all('"level_seen"' in content for _, content in relinked)
    conn.execute("SET session_replication_role = replica")
    conn.execute(f"UPDATE acknowledgments SET level_seen = 'advisory' WHERE id = {ack}")
    assert f"acknowledgments row {ack} differs from its chained content" in verify(conn).problem
    conn.close()


def test_writers_at_once_keep_one_unbroken_chain(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    """Four nurses' stations logging events at the same moment: one head at a time."""
    writer.write_chairs([Chair(f"c{i}", f"Chair {i}", "loop://", "ge-s5") for i in range(1, 5)])
    sessions = [
        commands.start_session(pg_url, f"c{i}", "P-0042", "iv-ketamine", "Nurse Ada", weight_kg=70)
        for i in range(1, 5)
    ]

    def log(session: int) -> None:
        for n in range(10):
            commands.add_event(pg_url, session, "note", "Nurse Ada", f"note {n}")

    threads = [threading.Thread(target=log, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = verify(connect_readonly(pg_url))
    assert verdict.intact, verdict.problem
    assert verdict.links == 1 + 4 * 2 + 40  # the rules, each start, its start event, the notes


def test_a_readonly_connection_refuses_every_write(recorded: PostgresServer) -> None:
    conn = connect_readonly(recorded)
    for statement in ("INSERT INTO stations VALUES ('s', 'x', 1)", "CREATE TABLE t (x INTEGER)"):
        with pytest.raises(sqlite3.OperationalError, match="read-only transaction"):
            conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)


# -- the writer against a server that goes away ------------------------------------------


def test_the_writer_survives_its_connection_being_cut(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    """A server restart or a cut link: the readings wait and go in once it answers again."""
    t0 = utc_now()
    writer.write_readings([reading(Param.HR, 70.0, t0)])
    admin = outside_writer(pg_url)
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = 'chairside'"
        " AND pid <> pg_backend_pid()"
    )
    admin.close()
    ticket = writer.post_readings([reading(Param.HR, 71.0, t0 + timedelta(seconds=1))])
    wait_for(lambda: ticket.committed, timeout=10, what="the kept readings to be committed")
    assert query(pg_url, "SELECT value FROM readings ORDER BY t_us") == [(70.0,), (71.0,)]
    assert writer.fault is None


# -- the commands a nurse and an importer use, on a server ---------------------------------


def test_session_start_event_end_and_import_from_the_command_line(
    writer: StoreWriter, pg_url: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "correct horse")
    monkeypatch.setenv(TOKEN_ENV, create_token(users, "Nurse Ada", "correct horse"))
    db = str(pg_url)
    me = ["--by", "Nurse Ada", "--users", str(users)]
    assert main(["session", "start", "--db", db, "--chair", "c1", "--patient", "P-0042",
                 "--protocol", "iv-ketamine", "--weight", "70", *me]) == 0  # fmt: skip
    (session,) = query(pg_url, "SELECT id FROM sessions")[0]
    assert (
        main(["session", "event", "--db", db, "--session", str(session), "--kind", "dose", *me])
        == 0
    )
    csv = tmp_path / "readings.csv"
    start = utc_now() + timedelta(seconds=1)
    lines = ["chair,time_utc,param,value,unit,quality"] + [
        f"c1,{(start + timedelta(seconds=i)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')},hr,{70 + i},bpm,ok"
        for i in range(5)
    ]
    csv.write_text("\n".join(lines) + "\n")
    assert main(["import", "--db", db, "--file", str(csv), *me]) == 0
    assert main(["import", "--db", db, "--file", str(csv), *me]) == 0  # again: nothing twice
    assert query(pg_url, "SELECT count(*) FROM readings") == [(5,)]
    # (``session end`` prints the discharge verdict through the page queries: the read side)
    commands.end_session(pg_url, session, "Nurse Ada", "ready for discharge")
    events = query(pg_url, "SELECT kind FROM events ORDER BY id")
    assert [k for (k,) in events] == ["session-start", "dose", "import", "session-end"]
    assert verify_file(pg_url).intact


def test_alarm_forwarding_is_audited_on_a_server(
    writer: StoreWriter, pg_url: PostgresServer
) -> None:
    """The notifier's writes: each send (append-only), its own state, a station watching, and
    the chair-less "no station watching" episode ended by its own statement."""
    now = utc_now()
    station = Episode("no-station", "technical", Level.WARNING, now, reason="no station watching")
    writer.write_episodes(None, None, [station])
    (episode,) = query(pg_url, "SELECT id FROM episodes")[0]
    sent = Notification(episode, None, "phone", "ntfy", "ward", 1, now, now, True, "", "no station")
    writer.write_notification(sent)
    writer.write_notifier_state(to_us(now), to_us(now), "", {"ntfy": "ok"})
    writer.end_chairless_episode("no-station", to_us(now), to_us(now) + 5, "a station opened")
    station_seen(pg_url, "station-1", "Nurse Ada", at=now)
    assert query(pg_url, "SELECT step, channel, delivered FROM notifications") == [
        ("phone", "ntfy", 1)
    ]
    assert query(pg_url, "SELECT problem, channels_json FROM notifier") == [("", '{"ntfy": "ok"}')]
    assert query(pg_url, "SELECT ended_us, reason FROM episodes") == [
        (to_us(now) + 5, "no station watching (ended: a station opened)")
    ]
    assert query(pg_url, "SELECT station, by FROM stations") == [("station-1", "Nurse Ada")]
    conn = outside_writer(pg_url)
    with pytest.raises(sqlite3.IntegrityError, match="notifications are an audit trail"):
        conn.execute("UPDATE notifications SET delivered = 0")
    conn.close()


def test_readings_wait_in_the_spool_while_the_server_holds_a_lock(
    pg_url: PostgresServer, tmp_path: Path
) -> None:
    """Another session (a DBA's maintenance) locks the readings: nothing waits, nothing lost."""
    writer = StoreWriter(pg_url, tmp_path / "spool", busy_s=0.2)
    t0 = utc_now()
    try:
        holder = outside_writer(pg_url)
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")
        tickets = [
            writer.post_readings([reading(Param.HR, float(i), t0 + timedelta(seconds=i))])
            for i in range(3)
        ]
        assert writer.fault is not None and "lock" in writer.fault.reason
        assert (tmp_path / "spool" / "readings.spool").stat().st_size > 0
        holder.execute("COMMIT")
        holder.close()
        wait_for(
            lambda: all(t.committed for t in tickets) and writer.fault is None,
            what="the spool drained",
        )
        assert query(pg_url, "SELECT value FROM readings ORDER BY t_us") == [(0.0,), (1.0,), (2.0,)]
    finally:
        writer.close()


def test_accounts_with_only_the_rights_they_need(
    pg_url: PostgresServer, pg_cluster: Cluster, tmp_path: Path
) -> None:
    """IT gives the site's writer rows, not DDL, and the dashboard SELECT alone."""
    StoreWriter(pg_url).close()  # the schema, made by its owner
    site, station = f"site_{pg_url.dbname}", f"station_{pg_url.dbname}"  # roles span the cluster
    admin = outside_writer(pg_url)
    for statement in (
        f"CREATE ROLE {site} LOGIN",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {site}",
        f"CREATE ROLE {station} LOGIN",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {station}",
    ):
        admin.execute(statement)
    admin.close()
    as_writer = PostgresServer(pg_url.url.replace("chairside_test@", f"{site}@"))
    writer = StoreWriter(as_writer)
    try:
        writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
        writer.write_readings([reading(Param.HR, 70.0, utc_now())])
        session = commands.start_session(
            as_writer, "c1", "P-0042", "iv-ketamine", "Nurse Ada", weight_kg=70
        )
        commands.end_session(as_writer, session, "Nurse Ada", "ready")
    finally:
        writer.close()
    as_station = PostgresServer(pg_url.url.replace("chairside_test@", f"{station}@"))
    assert verify_file(as_station).intact
    conn = outside_writer(as_station)
    with pytest.raises(sqlite3.OperationalError, match="permission denied"):
        conn.execute("INSERT INTO stations VALUES ('s', 'x', 1)")
    conn.close()


def test_verify_without_rights_is_no_verdict_on_the_record(
    pg_url: PostgresServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An auditor's account without SELECT rights, or a server that is not there, is told as
    a store that could not be read (exit 3), never as a record that failed verification."""
    StoreWriter(pg_url).close()
    nobody = f"nobody_{pg_url.dbname}"
    admin = outside_writer(pg_url)
    admin.execute(f"CREATE ROLE {nobody} LOGIN")
    admin.close()
    as_nobody = pg_url.url.replace("chairside_test@", f"{nobody}@")
    assert main(["verify", "--db", as_nobody]) == 3
    said = capsys.readouterr().out
    assert ": could not be read: this account may not read it (permission denied" in said
    assert "NOT verified" not in said and said.count("\n") == 1
    out = tmp_path / "out"
    assert main(["export", "--db", as_nobody, "--session", "1", "--out", str(out)]) == 3
    said = capsys.readouterr().err  # one line, not a traceback, and no folder of nothing
    assert said.startswith("chairside: error: the database could not be read: this account")
    assert said.count("\n") == 1 and not out.exists()
    assert main(["verify", "--db", "postgresql://nobody@127.0.0.1:1/none"]) == 3
    said = capsys.readouterr().out
    assert "could not be read: cannot open PostgreSQL database none" in said
    assert said.count("\n") == 1


def test_doctor_checks_a_server_it_is_pointed_at(
    pg_url: PostgresServer, capsys: pytest.CaptureFixture
) -> None:
    StoreWriter(pg_url).close()
    main(["doctor", "--db", str(pg_url)])
    out = capsys.readouterr().out
    assert f"database: {pg_url.describe()} answers" in out
    assert f"schema: up to date ({PG_MIGRATIONS[-1].__name__})" in out


# -- the adapter: sqlite3's API on psycopg -----------------------------------------------


@pytest.mark.parametrize(
    ("written", "sent", "numbered"),
    [
        ("SELECT ? , ?", "SELECT %s , %s", False),
        ("SELECT ?1, ?2, ?1", "SELECT %(p1)s, %(p2)s, %(p1)s", True),
        (
            "SELECT 'it''s ?', \"a?b\", ? -- why? 50%\n",
            "SELECT 'it''s ?', \"a?b\", %s -- why? 50%%\n",
            False,
        ),
        ("WHERE rule LIKE 'invalid-%' AND x = ?", "WHERE rule LIKE 'invalid-%%' AND x = %s", False),
        ("BEGIN IMMEDIATE", "BEGIN", False),
    ],
)
def test_placeholders_become_psycopgs_outside_literals_and_comments(
    written: str, sent: str, numbered: bool
) -> None:
    assert translate(written, True) == (sent, numbered)


def test_the_adapter_answers_as_sqlite3_does(pg_url: PostgresServer) -> None:
    conn = connect_writer(pg_url)
    conn.execute("CREATE TEMP TABLE t (k INTEGER PRIMARY KEY, v DOUBLE PRECISION)")
    assert conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 0.5), (2, 1.5)]).rowcount == 2
    many = [(k, 1.0) for k in range(3, 103)]  # a forwarded batch: psycopg's pipeline
    assert conn.executemany("INSERT INTO t VALUES (?, ?)", many).rowcount == 100
    assert conn.execute("SELECT sum(k), avg(v), count(*) FROM t").fetchone() == (5253, 1.0, 102)
    cursor = conn.execute("SELECT k AS key FROM t WHERE k < ?", (3,))
    assert [c[0] for c in cursor.description] == ["key"] and list(cursor) == [(1,), (2,)]
    with pytest.raises(sqlite3.IntegrityError, match="duplicate key"):
        conn.execute("INSERT INTO t VALUES (1, 0)")
    conn.execute("BEGIN IMMEDIATE")
    assert conn.in_transaction
    conn.execute("INSERT INTO t VALUES (200, 0)")
    conn.execute("ROLLBACK")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t WHERE k = 200").fetchone() == (0,)
    conn.close()


def test_a_sites_chairs_are_read_only_on_the_central_store(
    central_sample: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A session, an event, an acknowledgment or an import for ``riverside/chair-1`` written
    centrally would never reach riverside: each is refused in one line, nothing is stored."""
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "correct horse")
    monkeypatch.setenv(TOKEN_ENV, create_token(users, "Nurse Ada", "correct horse"))
    db, me = str(central_sample), ["--by", "Nurse Ada", "--users", str(users)]
    counts = "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM events)," \
        " (SELECT count(*) FROM acknowledgments), (SELECT count(*) FROM readings)"  # fmt: skip
    before = query(central_sample, counts)
    ((session,),) = query(central_sample, "SELECT max(id) FROM sessions WHERE chair LIKE 'r%'")
    ((episode,),) = query(central_sample, "SELECT max(id) FROM episodes WHERE chair LIKE 'r%'")
    csv = tmp_path / "readings.csv"
    csv.write_text("chair,time_utc,param,value,unit,quality\n"
                   "riverside/chair-1,2026-11-28T12:00:00Z,hr,70,bpm,ok\n")  # fmt: skip
    for command in (
        ["session", "start", "--chair", "riverside/chair-1", "--patient", "P-0042",
         "--protocol", "iv-ketamine", "--weight", "70"],
        ["session", "event", "--chair", "riverside/chair-1", "--kind", "note", "--text", "x"],
        ["session", "event", "--session", str(session), "--kind", "note", "--text", "x"],
        ["session", "end", "--session", str(session)],
        ["session", "ack", "--episode", str(episode)],
        ["import", "--file", str(csv)],
    ):  # fmt: skip
        assert main([*command, "--db", db, *me]) == 1, command
        err = capsys.readouterr().err
        assert err.endswith("belongs to site riverside: record it at the site's station\n"), err
        assert err.count("\n") == 1
    assert query(central_sample, counts) == before
