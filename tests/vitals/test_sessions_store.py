"""Sessions, events, thresholds and acknowledgments in the store: validated and audited."""

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import outside_writer, query, view_columns
from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.errors import ConfigError, StoreError
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.store.location import PostgresServer
from vitals.times import to_us


@pytest.fixture
def store(store_writer: StoreWriter, store_db: Path | PostgresServer) -> Path | PostgresServer:
    """Two chairs in a store on each engine (SQLite file, PostgreSQL server)."""
    store_writer.write_chairs(
        [Chair("c1", "Chair 1", "loop://", "ge-s5"), Chair("c2", "Chair 2", "loop://", "ge-s5")]
    )
    return store_db


@pytest.fixture
def sqlite_store(fresh_store: StoreWriter, db_path: Path) -> Path:
    """The same on SQLite only, for a test whose page queries are not yet ported."""
    fresh_store.write_chairs(
        [Chair("c1", "Chair 1", "loop://", "ge-s5"), Chair("c2", "Chair 2", "loop://", "ge-s5")]
    )
    return db_path


def start(db: Path | PostgresServer, **kw) -> int:
    args = {
        "chair": "c1",
        "patient": "P-0042",
        "protocol_name": "iv-ketamine",
        "by": "Nurse Ada",
        "weight_kg": 70,
    }
    return commands.start_session(db, **(args | kw))


def test_start_session_records_protocol_dose_rules_and_event(store: Path | PostgresServer) -> None:
    session = start(store, overrides=[("sbp-high", Level.WARNING, 170)], baseline={Param.SBP: 128})
    conn = connect_readonly(store)
    s = queries.active_session(conn, "c1")
    assert (s.id, s.patient, s.protocol, s.dose_mg) == (session, "P-0042", "iv-ketamine", 35.0)
    assert s.rules.by_name("sbp-high").threshold(Level.WARNING) == 170
    assert s.baseline_entered == {Param.SBP: 128}
    kinds = queries.events(conn, session)[["kind", "text", "by"]].values.tolist()
    assert kinds == [
        ["session-start", "IV ketamine 0.5 mg/kg over 40 min; patient P-0042", "Nurse Ada"],
        ["threshold", "sbp-high warning 160 -> 170", "Nurse Ada"],
        ["baseline", "sbp baseline entered", "Nurse Ada"],
    ]
    assert query(store, "SELECT * FROM sessions_v")[0][:4] == (
        session,
        "c1",
        "P-0042",
        "iv-ketamine",
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"chair": "c9"}, "unknown chair 'c9'; known: c1, c2"),
        ({"patient": "John Smith"}, "pseudonymous"),
        ({"weight_kg": None}, "needs the patient's weight"),
        ({"protocol_name": "esketamine-nasal", "dose_mg": 60}, "needs --dose 56 or 84"),
        ({"protocol_name": "nope"}, "unknown protocol preset"),
        ({"by": " "}, "who is acting must be named"),
        ({"overrides": [("sbp-high", Level.WARNING, 190)]}, "more extreme"),
    ],
)
def test_bad_session_starts_are_refused_with_the_reason(
    store: Path | PostgresServer, kw: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        start(store, **kw)


def test_one_open_session_per_chair(store: Path | PostgresServer) -> None:
    start(store)
    with pytest.raises(ConfigError, match="already has an open session"):
        start(store)
    start(store, chair="c2")


def test_first_dose_event_sets_the_dose_time(store: Path | PostgresServer) -> None:
    session = start(store)
    t = utc_now() - timedelta(minutes=5)
    commands.add_event(store, session, "infusion-start", "Nurse Ada", at=t)
    commands.add_event(store, session, "dose", "Nurse Ada", at=t + timedelta(minutes=1))
    assert queries.active_session(connect_readonly(store), "c1").dose_time == t.replace(
        microsecond=t.microsecond
    )
    with pytest.raises(ConfigError, match="unknown event kind"):
        commands.add_event(store, session, "party", "Nurse Ada")


def test_threshold_change_is_an_event_and_ended_sessions_are_frozen(
    store: Path | PostgresServer,
) -> None:
    session = start(store)
    text = commands.change_threshold(store, session, "spo2-low", Level.WARNING, 92, "Dr Lee")
    assert text == "spo2-low warning 90 -> 92"
    conn = connect_readonly(store)
    assert (
        queries.active_session(conn, "c1").rules.by_name("spo2-low").threshold(Level.WARNING) == 92
    )
    commands.end_session(store, session, "Dr Lee", "ready for discharge: test")
    assert queries.active_session(conn, "c1") is None
    with pytest.raises(ConfigError, match="has ended"):
        commands.add_event(store, session, "note", "Dr Lee", "late")
    with pytest.raises(ConfigError, match="no rule named 'sbp-hi'"):
        commands.change_threshold(store, start(store), "sbp-hi", Level.WARNING, 1, "Dr Lee")


def test_acknowledgment_is_audited_and_never_changed(
    store: Path | PostgresServer, store_writer: StoreWriter
) -> None:
    start(store)
    now = utc_now()
    episode = Episode(
        "sbp-high",
        CLINICAL,
        Level.CRITICAL,
        now,
        Param.SBP,
        peak_value=184.0,
        peak_time=now,
        reason="SBP 184 ≥ 180 for 1 reading (critical)",
    )
    store_writer.write_episodes("c1", None, [episode])
    (episode_id,) = query(store, "SELECT id FROM episodes")[0]
    commands.acknowledge(store, episode_id, "Nurse Ada", "called the doctor")
    commands.acknowledge(store, episode_id, "Nurse Ben")
    row = query(store, "SELECT rule, kind, level, acked_by, reason, ended_utc FROM episodes_v")[0]
    assert row == (
        "sbp-high",
        "clinical",
        "critical",
        "Nurse Ada",
        "SBP 184 ≥ 180 for 1 reading (critical)",
        None,
    )
    acks = queries.acknowledgments(connect_readonly(store), episode_id)
    assert acks.by.tolist() == ["Nurse Ada", "Nurse Ben"]
    conn = outside_writer(store)
    with pytest.raises(sqlite3.IntegrityError, match="audit trail"):
        conn.execute("DELETE FROM acknowledgments")
    with pytest.raises(sqlite3.IntegrityError, match="audit trail"):
        conn.execute("UPDATE events SET by = 'x'")
    conn.rollback()
    conn.close()
    with pytest.raises(ConfigError, match="no alert episode 999"):
        commands.acknowledge(store, 999, "Nurse Ada")


def test_episode_views_columns_are_stable(store: Path | PostgresServer) -> None:
    columns = view_columns(store, "episodes_v")
    assert columns == [
        "chair",
        "session",
        "rule",
        "param",
        "kind",
        "level",
        "started_utc",
        "ended_utc",
        "peak_value",
        "peak_utc",
        "acked_by",
        "acked_utc",
        "reason",
    ]
    columns = view_columns(store, "sessions_v")
    assert columns == ["session", "chair", "patient", "protocol", "started_utc", "ended_utc"]


def test_episode_upsert_keeps_one_row_per_episode_and_its_rule(
    store_writer: StoreWriter, store: Path
) -> None:
    now = utc_now()
    e = Episode(
        "sbp-high",
        CLINICAL,
        Level.WARNING,
        now,
        Param.SBP,
        rule_snapshot={"tiers": {"warning": 165}},
    )
    store_writer.write_episodes("c1", None, [e])
    store_writer.write_episodes(
        "c1", None, [replace(e, level=Level.CRITICAL, rule_snapshot={"tiers": {}})]
    )
    assert query(store, "SELECT level, rule_json FROM episodes") == [
        ("critical", '{"tiers": {"warning": 165}}')
    ]


def test_store_errors_are_store_errors(tmp_path: Path) -> None:
    bad = tmp_path / "dir.db"
    bad.mkdir()
    with pytest.raises(StoreError):
        commands.open_session_id(bad, "c1")


def test_ending_a_session_ends_its_open_alarms_with_it(
    store: Path | PostgresServer, store_writer: StoreWriter
) -> None:
    """Nothing the engine raised is left open to span weeks and shade later views; link
    episodes belong to the chair and stay with the link."""
    session = start(store)
    t0 = utc_now() - timedelta(minutes=30)
    open_ones = [
        Episode("sbp-high", CLINICAL, Level.WARNING, t0, Param.SBP, reason="SBP 170"),
        Episode("nibp-overdue", "technical", Level.WARNING, t0, Param.SBP, reason="late"),
        Episode("device-disconnected", "technical", Level.WARNING, t0, reason="cable"),
    ]
    store_writer.write_episodes("c1", session, open_ones)
    end = utc_now()
    commands.end_session(store, session, "Nurse Ada", "ready", at=end)
    rows = query(store, "SELECT rule, ended_us, reason FROM episodes ORDER BY rule")
    assert rows == [
        ("device-disconnected", None, "cable"),
        ("nibp-overdue", to_us(end), "late (ended: session ended)"),
        ("sbp-high", to_us(end), "SBP 170 (ended: session ended)"),
    ]


def test_live_views_show_only_the_chairs_present(
    sqlite_store: Path, fresh_store: StoreWriter
) -> None:
    """An old session's unacknowledged critical is for review, not for today's tile; alarms
    raised under the monitor limits since the last session are today's."""
    now = utc_now()
    old = start(sqlite_store, at=now - timedelta(days=7))
    crit = Episode(
        "sbp-high",
        CLINICAL,
        Level.CRITICAL,
        now - timedelta(days=7),
        Param.SBP,
        ended=now - timedelta(days=7, minutes=-5),
        reason="old critical",
    )
    fresh_store.write_episodes("c1", old, [crit])
    commands.end_session(
        sqlite_store, old, "Nurse Ada", "done", at=now - timedelta(days=7, minutes=-90)
    )
    between = Episode(
        "spo2-low",
        CLINICAL,
        Level.WARNING,
        now - timedelta(hours=1),
        Param.SPO2,
        reason="between sessions",
    )
    fresh_store.write_episodes("c1", None, [between])
    current = start(sqlite_store, at=now - timedelta(minutes=10))
    mine = Episode(
        "sbp-high", CLINICAL, Level.WARNING, now - timedelta(minutes=5), Param.SBP, reason="today"
    )
    fresh_store.write_episodes("c1", current, [mine])
    conn = connect_readonly(sqlite_store)
    assert set(queries.visible_episodes(conn).reason) == {"between sessions", "today"}
    assert set(queries.live_episodes(conn, "c1").reason) == {"between sessions", "today"}
    assert len(queries.episodes(conn, session=old)) == 1  # review still has it
    commands.end_session(sqlite_store, current, "Nurse Ada", "done")
    assert queries.visible_episodes(conn).empty  # the chair has no present alarm now


def test_a_baseline_entered_by_hand_and_a_protocol_change_are_audited(
    store: Path | PostgresServer,
) -> None:
    session = start(store, protocol_name="esketamine-nasal", weight_kg=None, dose_mg=56)
    commands.enter_baseline(store, session, {Param.SBP: 128, Param.DBP: 82}, "Nurse Ada")
    with pytest.raises(ConfigError, match="needs the patient's weight"):
        commands.change_protocol(store, session, "iv-ketamine", "Dr Lee")
    commands.change_protocol(store, session, "iv-ketamine", "Dr Lee", weight_kg=80)
    s = queries.active_session(connect_readonly(store), "c1")
    assert s.baseline_entered == {Param.SBP: 128, Param.DBP: 82}
    assert (s.protocol, s.weight_kg, s.dose_mg) == ("iv-ketamine", 80, 40.0)
    assert s.rules.by_name("sbp-rise").threshold(Level.WARNING) == 40
    events = queries.events(connect_readonly(store), session)[["kind", "text", "by"]]
    assert events.values.tolist()[-3:] == [
        ["baseline", "sbp baseline entered", "Nurse Ada"],
        ["baseline", "dbp baseline entered", "Nurse Ada"],
        ["protocol", "protocol esketamine-nasal -> iv-ketamine", "Dr Lee"],
    ]


def test_an_acknowledgment_records_the_level_seen_and_refuses_a_stale_one(
    store: Path | PostgresServer, store_writer: StoreWriter
) -> None:
    """A nurse looked at a warning; it became critical before she pressed Acknowledge."""
    from vitals.errors import AlertChanged

    start(store)
    now = utc_now()
    warning = Episode("sbp-high", CLINICAL, Level.WARNING, now, Param.SBP, reason="w")
    store_writer.write_episodes("c1", None, [warning])
    (episode_id,) = query(store, "SELECT id FROM episodes")[0]
    store_writer.write_episodes("c1", None, [replace(warning, level=Level.CRITICAL)])
    with pytest.raises(AlertChanged, match="now critical, not warning"):
        commands.acknowledge(store, episode_id, "Nurse Ada", level_seen="warning")
    assert query(store, "SELECT count(*) FROM acknowledgments") == [(0,)]
    commands.acknowledge(store, episode_id, "Nurse Ada", level_seen="critical")
    acks = queries.acknowledgments(connect_readonly(store), episode_id)
    assert acks.level_seen.tolist() == ["critical"]
