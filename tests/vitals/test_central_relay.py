"""Store and forward: a site's readings and record reach the central store in order, once.

The central store here is another SQLite file (the relay's target is any store); the same
relay against PostgreSQL runs in the end-to-end test. Each test breaks the link where it
hurts: between the central commit and the site's watermark (a lost acknowledgment), in the
middle of a batch (a restart), for a long while (an outage), before forwarding existed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

import chairside.relay as relay_thread
from chairside.cli import build_parser, main
from chairside.cli_relay import site_store
from chairside.relay import CentralRelay, RelayTarget, in_words
from tests.conftest import query, wait_for
from tests.vitals.test_rule_sets import verdict
from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.errors import ConfigError, StoreError
from vitals.reading import Param, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.central import ForwardingError, apply_links, open_central, transaction
from vitals.store.relay import relay_status
from vitals.times import to_us

T0 = utc_now().replace(microsecond=0) - timedelta(hours=2)
CHAIRS = [
    Chair("chair-1", "Chair 1", "loop://", "ge-s5"),
    Chair("chair-2", "Chair 2", "loop://", "ge-s5"),
]


def readings(start: int, count: int, chair: str = "chair-1") -> list[Reading]:
    """``count`` heart rates a second apart, numbered from ``start`` (and one repeat time)."""
    return [
        Reading(Param.HR, 60 + i % 40, time=T0 + timedelta(seconds=i), chair=chair, source="ge-s5")
        for i in range(start, start + count)
    ]


@pytest.fixture
def site(tmp_path: Path):
    writer = StoreWriter(tmp_path / "site.db", tmp_path / "site.spool")
    writer.write_chairs(CHAIRS)
    yield writer
    writer.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def central(request, tmp_path: Path) -> str:
    """The central store: another SQLite file, or a fresh database on a throw-away server."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    path = str(tmp_path / "central.db")
    open_central(path).close()  # migrated, as a server's schema would be
    return path


def central_query(target: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = connect_readonly(target)
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def relay_for(writer: StoreWriter, central: str, site: str = "north", **kw) -> CentralRelay:
    relay = CentralRelay(writer, RelayTarget(str(central), site), threading.Event(), **kw)
    relay.enable()
    return relay


def drain(relay: CentralRelay) -> None:
    while relay.step():
        pass


def central_readings(central: str) -> list[tuple]:
    return central_query(
        central, "SELECT chair, t_us, value, seq FROM readings_full ORDER BY 1, 2, 4"
    )


def site_readings(writer: StoreWriter, site: str = "north") -> list[tuple]:
    rows = query(writer.path, "SELECT chair, t_us, value, seq FROM readings_full ORDER BY 1, 2, 4")
    return [(f"{site}/{chair}", *rest) for chair, *rest in rows]


def a_session_with_record(writer: StoreWriter) -> tuple[int, int]:
    """A nurse's session: start, dose, an alert and its acknowledgment; (session, episode)."""
    db = writer.path
    session = commands.start_session(
        db, "chair-1", "PT-0042", "iv-ketamine", "Nurse Ada", at=T0, weight_kg=70
    )
    commands.add_event(db, session, "dose", "Nurse Ada", at=T0 + timedelta(minutes=1))
    episode = Episode(
        "sbp-high", CLINICAL, Level.WARNING, T0 + timedelta(minutes=5), Param.SBP, reason="SBP 171"
    )
    writer.write_episodes("chair-1", session, [episode])
    (episode_id,) = query(db, "SELECT id FROM episodes")[0]
    commands.acknowledge(db, episode_id, "Nurse Ada", "seen", at=T0 + timedelta(minutes=6))
    return session, episode_id


def the_next_patient(writer: StoreWriter, session: int) -> None:
    """The session ends and the chair's next patient starts."""
    commands.end_session(writer.path, session, "Nurse Ada", "ready", at=T0 + timedelta(hours=1))
    later = T0 + timedelta(hours=1, minutes=5)
    commands.start_session(
        writer.path, "chair-1", "PT-0043", "iv-ketamine", "Nurse Bo", at=later, weight_kg=80
    )


def sessions_and_whether_open(central: str) -> list[tuple]:
    return central_query(
        central,
        "SELECT patient, CASE WHEN ended_us IS NULL THEN 1 ELSE 0 END FROM sessions ORDER BY id",
    )


def test_readings_chairs_and_the_human_record_arrive_once_with_site_qualified_ids(site, central):
    site.post_readings(readings(0, 50))
    session, _ = a_session_with_record(site)
    relay = relay_for(site, central, readings_batch=7)
    drain(relay)
    drain(relay)  # nothing left: a second pass sends nothing again

    assert central_readings(central) == site_readings(site)
    assert central_query(central, "SELECT chair, name FROM chairs ORDER BY position") == [
        ("north/chair-1", "Chair 1"),
        ("north/chair-2", "Chair 2"),
    ]
    (central_session, chair, patient) = central_query(
        central, "SELECT id, chair, patient FROM sessions"
    )[0]
    assert (chair, patient) == ("north/chair-1", "PT-0042")
    assert central_query(
        central, "SELECT local_id, central_id FROM forwarded_ids WHERE kind = 'sessions'"
    ) == [(session, central_session)]
    events = central_query(central, 'SELECT session, chair, kind, "by" FROM events ORDER BY id')
    assert [e[2] for e in events] == [
        e[0] for e in query(site.path, "SELECT kind FROM events ORDER BY id")
    ]
    assert {e[:2] for e in events} == {(central_session, "north/chair-1")}
    (ack,) = central_query(
        central,
        'SELECT e.session, e.rule, a."by", a.comment FROM acknowledgments a'
        " JOIN episodes e ON e.id = a.episode",
    )
    assert ack == (central_session, "sbp-high", "Nurse Ada", "seen")
    status = relay_status(connect_readonly(site.path))
    assert status.up_to_date and status.readings_waiting == 0 and status.links_waiting == 0


class LosingAcks:
    """A central connection whose first ``lose`` commits happen but never answer."""

    def __init__(self, conn, lose: int) -> None:
        self.conn, self.lose = conn, lose

    def execute(self, sql, params=()):
        result = self.conn.execute(sql, params)
        if sql == "COMMIT" and self.lose:
            self.lose -= 1
            raise ConnectionResetError("the acknowledgment was lost on the way back")
        return result

    def __getattr__(self, name):
        return getattr(self.conn, name)


def step_as_the_loop_does(relay: CentralRelay) -> bool | None:
    try:
        return relay.step()
    except Exception as exc:
        relay._failed(exc)
        return None


def test_a_lost_acknowledgment_resends_and_nothing_is_stored_twice(site, central):
    """The central store committed, the site never heard so: the next try sends it again."""
    session, _ = a_session_with_record(site)
    # the session ends and the chair's next patient starts: re-applying the first session's
    # links over the second would reopen it beside it (one open session per chair)
    the_next_patient(site, session)
    opened = []

    def opener(target: str):
        opened.append(LosingAcks(open_central(target), lose=2 if not opened else 0))
        return opened[-1]

    relay = relay_for(site, central, opener=opener, readings_batch=10)
    site.post_readings(readings(0, 30))  # through the outbox
    assert step_as_the_loop_does(relay) is None  # the chairs: committed, answer lost
    assert step_as_the_loop_does(relay) is True  # reconnected: chairs, then the record
    relay._central.lose = 1
    assert step_as_the_loop_does(relay) is None  # 10 readings committed, answer lost
    assert relay_status(connect_readonly(site.path)).readings_waiting == 30
    drain(relay)

    assert len(opened) == 3
    assert central_readings(central) == site_readings(site)
    assert sessions_and_whether_open(central) == [("PT-0042", 0), ("PT-0043", 1)]
    assert len(central_query(central, "SELECT 1 FROM events")) == len(
        query(site.path, "SELECT 1 FROM events")
    )
    assert len(central_query(central, "SELECT 1 FROM acknowledgments")) == 1
    assert relay.failures == 2


def test_a_lost_acknowledgment_of_the_record_is_not_applied_twice(site, central):
    session, _ = a_session_with_record(site)
    the_next_patient(site, session)
    relay = relay_for(site, central)
    relay.step()  # chairs and the record, all in one batch
    relay._close()
    relay._links_from = 0  # as if the watermark had never moved: everything is sent again
    drain(relay)
    assert sessions_and_whether_open(central) == [("PT-0042", 0), ("PT-0043", 1)]


def test_the_level_the_nurse_saw_arrives_with_her_acknowledgment(site, central):
    """Nurse Bo acknowledged the alert as a warning: the central review reads what she saw."""
    _, episode = a_session_with_record(site)  # Nurse Ada's acknowledgment names no level
    later = T0 + timedelta(minutes=7)
    commands.acknowledge(site.path, episode, "Nurse Bo", at=later, level_seen="warning")
    drain(relay_for(site, central))
    assert central_query(central, 'SELECT "by", level_seen FROM acknowledgments ORDER BY id') == [
        ("Nurse Ada", None),
        ("Nurse Bo", "warning"),
    ]


def test_links_chained_before_the_level_seen_was_still_apply(site, central):
    """A site that chained its acknowledgments before the level was in the chain: its links
    have no ``level_seen``; the central store takes them, the level unknown."""
    a_session_with_record(site)
    links = [
        (link_id, table, row_id, op, json.dumps(without_level(table, content)))
        for link_id, table, row_id, op, content in query(
            site.path, "SELECT id, tbl, row_id, op, content FROM audit_chain ORDER BY id"
        )
    ]
    conn = open_central(central)
    try:
        with transaction(conn):
            assert apply_links(conn, "north", links) == len(links)
    finally:
        conn.close()
    assert central_query(central, 'SELECT "by", comment, level_seen FROM acknowledgments') == [
        ("Nurse Ada", "seen", None)
    ]


def central_rules(central: str) -> list[tuple[str, str]]:
    """Each central session's chair and patient with the text of its rules."""
    return central_query(
        central,
        "SELECT s.chair || ' ' || s.patient, r.rules_json FROM sessions s"
        " JOIN rule_sets r ON r.sha256 = s.rules_sha256 ORDER BY s.id",
    )


def site_rules(writer: StoreWriter, site: str = "north") -> list[tuple[str, str]]:
    rows = query(
        writer.path,
        "SELECT s.chair || ' ' || s.patient, r.rules_json FROM sessions s"
        " JOIN rule_sets r ON r.sha256 = s.rules_sha256 ORDER BY s.id",
    )
    return [(f"{site}/{who}", text) for who, text in rows]


def test_rule_sets_are_kept_once_whichever_site_sends_them(tmp_path, central):
    """Two sites run the IV protocol; at the north a nurse raises a session's SBP warning.
    The central store keeps the protocol's rules once and the raised ones once, and each
    session there names what it named at its site."""
    writers = {}
    for name in ("north", "south"):
        writers[name] = writer = StoreWriter(tmp_path / f"{name}.db")
        writer.write_chairs(CHAIRS)
        session, _ = a_session_with_record(writer)
        if name == "north":
            commands.change_threshold(writer.path, session, "sbp-high", Level.WARNING, 170, "Ada")
        drain(relay_for(writer, central, site=name))
    assert central_rules(central) == site_rules(writers["north"]) + site_rules(
        writers["south"], "south"
    )
    assert len(central_query(central, "SELECT 1 FROM rule_sets")) == 2
    assert verdict(central).intact
    for writer in writers.values():
        writer.close()


def with_rules_text(site: StoreWriter, table: str, content: str) -> str:
    """A session link as Chairside chained it before rule sets had their own table."""
    row = json.loads(content)
    if table == "sessions":
        sha256 = row.pop("rules_sha256")
        ((row["rules_json"],),) = query(
            site.path, "SELECT rules_json FROM rule_sets WHERE sha256 = ?", (sha256,)
        )
    return json.dumps(row)


def test_links_chained_before_rule_sets_had_a_table_still_apply(site, central):
    """A site that chained each session with its rules' whole text forwards those links,
    upgrades, and forwards what its migration linked again (its rule sets, then its
    sessions): the central store has each session's rules right after either, and keeps
    each rule set once."""
    session, _ = a_session_with_record(site)
    commands.change_threshold(site.path, session, "sbp-high", Level.WARNING, 170, "Nurse Ada")
    links = query(site.path, "SELECT tbl, row_id, op, content FROM audit_chain ORDER BY id")
    old = [
        (table, row_id, op, with_rules_text(site, table, content))
        for table, row_id, op, content in links
        if table != "rule_sets"
    ]
    relinked = (
        query(
            site.path,
            "SELECT 'rule_sets', id, 'existing', json_object('id', id, 'sha256', sha256,"
            " 'rules_json', rules_json) FROM rule_sets ORDER BY id",
        )
        + [(t, r, "existing", c) for t, r, op, c in links if t == "sessions" and op == "update"][
            -1:
        ]
    )
    conn = open_central(central)
    try:
        numbered = [(n, *link) for n, link in enumerate(old + relinked, start=1)]
        with transaction(conn):
            assert apply_links(conn, "north", numbered[: len(old)]) == len(old)
        assert central_rules(central) == site_rules(site)
        with transaction(conn):
            assert apply_links(conn, "north", numbered) == len(relinked)
    finally:
        conn.close()
    assert central_rules(central) == site_rules(site)
    assert len(central_query(central, "SELECT 1 FROM rule_sets")) == 2  # the IV rules, raised
    assert verdict(central).intact


def test_a_rule_set_that_does_not_match_its_digest_is_refused(site, central):
    a_session_with_record(site)
    ((content,),) = query(site.path, "SELECT content FROM audit_chain WHERE tbl = 'rule_sets'")
    edited = json.loads(content)
    edited["rules_json"] = edited["rules_json"].replace("180", "230")
    conn = open_central(central)
    refused = pytest.raises(ForwardingError, match="rule set 1 of site north does not match")
    try:
        with refused, transaction(conn):
            apply_links(conn, "north", [(1, "rule_sets", 1, "insert", json.dumps(edited))])
    finally:
        conn.close()


def without_level(table: str, content: str) -> dict:
    row = json.loads(content)
    if table == "acknowledgments":
        del row["level_seen"]
    return row


def test_a_restart_in_the_middle_of_the_catch_up_continues_where_the_central_store_stands(
    site, central, monkeypatch
):
    site.post_readings(readings(0, 100))
    a_session_with_record(site)
    first = relay_for(site, central, readings_batch=25)
    first.step()  # the record
    first.step()  # 25 readings confirmed
    monkeypatch.setattr(first, "_confirmed", lambda work: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):  # the process dies after the central commit
        first.step()
    first._close()

    second = relay_for(site, central, readings_batch=25)  # the recorder started again
    drain(second)
    assert central_readings(central) == site_readings(site)
    assert len(central_query(central, "SELECT 1 FROM sessions")) == 1


def test_an_outage_of_the_central_store_is_shown_then_caught_up_in_order(
    site, central, monkeypatch
):
    monkeypatch.setattr(relay_thread, "BACKOFF_FIRST_S", 0.05)
    monkeypatch.setattr(relay_thread, "BACKOFF_MAX_S", 0.2)
    down = threading.Event()
    down.set()

    def opener(target: str):
        if down.is_set():
            raise ConnectionRefusedError(111, "Connection refused")
        return open_central(target)

    relay = relay_for(site, central, opener=opener, readings_batch=500, poll_s=0.05)
    relay.start()
    try:
        for start in range(0, 3000, 300):  # readings keep coming while the link is down
            site.post_readings(readings(start, 300))
        status = wait_for(
            lambda: (s := relay_status(connect_readonly(site.path))) and s.failures >= 2 and s,
            what="the outage recorded",
        )
        assert status.readings_waiting == 3000 and status.down_since_us is not None
        assert status.last_error == "the central store cannot be reached"
        behind, line = status.describe(to_us(utc_now()), lambda us: "10:02")
        assert behind
        assert re.match(r"Central review 2 h \d+ min behind — 3,000 readings waiting", line)
        assert line.endswith("link down since 10:02 (the central store cannot be reached)")

        down.clear()
        wait_for(lambda: relay_status(connect_readonly(site.path)).up_to_date, what="caught up")
    finally:
        relay._stop.set()
        relay.join(5)
    assert central_readings(central) == site_readings(site)
    status = relay_status(connect_readonly(site.path))
    assert status.down_since_us is None and status.last_error == ""
    assert relay.failures >= 2
    assert status.describe(to_us(utc_now()), str) == (False, "Central review: up to date")


def test_history_stored_before_forwarding_began_is_sent_too(site, central):
    site.post_readings(readings(0, 40) + readings(0, 23, chair="chair-2"))
    relay = relay_for(site, central, readings_batch=9)
    assert relay_status(connect_readonly(site.path)).history_pending
    site.post_readings(readings(40, 11))  # after enabling: through the outbox
    drain(relay)
    assert central_readings(central) == site_readings(site)
    assert not relay_status(connect_readonly(site.path)).history_pending


def test_a_store_that_never_forwards_has_no_outbox_trigger(site):
    site.post_readings(readings(0, 5))
    assert query(site.path, "SELECT count(*) FROM relay_outbox") == [(0,)]
    assert not query(site.path, "SELECT 1 FROM sqlite_master WHERE name = 'relay_outbox_fill'")
    assert relay_status(connect_readonly(site.path)) is None


def test_two_sites_with_the_same_chair_ids_stay_apart_on_the_central_store(tmp_path, central):
    for name in ("north", "south"):
        writer = StoreWriter(tmp_path / f"{name}.db")
        writer.write_chairs(CHAIRS)
        writer.post_readings(readings(0, 20))
        commands.start_session(
            writer.path, "chair-1", f"PT-{name}", "iv-ketamine", "Nurse Ada", at=T0, weight_kg=70
        )
        drain(relay_for(writer, central, site=name))
        writer.close()
    assert central_query(
        central, "SELECT chair, count(*) FROM readings_full GROUP BY chair ORDER BY chair"
    ) == [
        ("north/chair-1", 20),
        ("south/chair-1", 20),
    ]
    assert central_query(central, "SELECT chair, patient FROM sessions ORDER BY chair") == [
        ("north/chair-1", "PT-north"),
        ("south/chair-1", "PT-south"),
    ]


def test_a_site_keeps_its_id(site, central):
    relay_for(site, central, site="north")
    with pytest.raises(ConfigError, match="forwards as site 'north'"):
        relay_for(site, central, site="south")


@pytest.mark.parametrize(
    ("argv", "buffer", "target"),
    [
        (
            [
                "--db",
                "data/site.db",
                "--forward",
                "postgresql://chairside@db.clinic/review",
                "--site",
                "north",
            ],
            "data/site.db",
            "postgresql://chairside@db.clinic/review",
        ),
        (
            ["--db", "postgresql://chairside@db.clinic/review", "--site", "north"],
            "data/sites/north.db",
            "postgresql://chairside@db.clinic/review",
        ),
        (
            ["--db", "postgres://chairside@db/review", "--site", "s-2", "--buffer", "b.db"],
            "b.db",
            "postgres://chairside@db/review",
        ),
        (["--db", "data/site.db"], "data/site.db", None),
    ],
)
def test_record_options_name_the_buffer_and_the_central_store(argv, buffer, target):
    args = build_parser().parse_args(["record", "--config", "chairs.toml", *argv])
    db, relay = site_store(args)
    assert db == Path(buffer)
    assert (relay.target if relay else None) == target


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--db", "postgresql://u@h/review"], "local SQLite file first .* give --site NAME"),
        (
            ["--db", "x.db", "--forward", "postgresql://u:secret@h/review", "--site", "a"],
            "PGPASSFILE",
        ),
        (["--db", "x.db", "--forward", "c.db", "--site", "north site"], "not a site id"),
        (["--db", "x.db", "--site", "north"], "give --forward"),
        (["--db", "x.db", "--buffer", "b.db"], "--buffer is for"),
    ],
)
def test_record_options_that_cannot_work_are_refused_in_one_line(argv, message):
    args = build_parser().parse_args(["record", "--config", "chairs.toml", *argv])
    with pytest.raises(ConfigError, match=message):
        site_store(args)


def test_a_site_pointed_at_another_central_store_sends_it_everything(site, central, tmp_path):
    site.post_readings(readings(0, 30))
    a_session_with_record(site)
    drain(relay_for(site, central))
    site.post_readings(readings(30, 10))
    other = str(tmp_path / "other-central.db")
    drain(relay_for(site, other))
    assert central_query(other, "SELECT count(*) FROM readings") == [(40,)]
    assert central_query(other, "SELECT count(*) FROM acknowledgments") == [(1,)]


def test_the_history_is_sent_while_live_readings_keep_coming(site, central):
    site.post_readings(readings(0, 50))
    relay = relay_for(site, central, readings_batch=5)
    for i in range(20):  # one live reading before every step: the outbox is never empty
        site.post_readings(readings(1000 + i, 1))
        relay.step()
    assert not relay_status(connect_readonly(site.path)).history_pending
    drain(relay)
    assert central_readings(central) == site_readings(site)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "the central store cannot be reached"),
        (
            StoreError("cannot open PostgreSQL database r on h for writing: timeout expired"),
            "the central store does not answer",
        ),
        (
            sqlite3.OperationalError("database is locked"),
            "the central store is busy: another site is writing",
        ),
        (
            sqlite3.OperationalError("could not extend file: No space left on device"),
            "the central store's disk is full",
        ),
        (
            sqlite3.OperationalError('password authentication failed for user "x"'),
            "the central store refused this site's sign-in: check its user and PGPASSFILE",
        ),
        (KeyError("chair"), "forwarding fault (KeyError); see the recorder's log"),
    ],
)
def test_why_the_copy_failed_is_told_in_words_not_as_the_exception(error, words):
    assert in_words(error) == words


def test_a_second_store_claiming_a_site_id_in_use_is_refused(tmp_path, central):
    first = StoreWriter(tmp_path / "north.db")
    first.write_chairs(CHAIRS)
    first.post_readings(readings(0, 5))
    drain(relay_for(first, central, site="north"))
    impostor = StoreWriter(tmp_path / "new-north.db")  # a new machine, same --site
    impostor.write_chairs(CHAIRS)
    impostor.post_readings(readings(100, 5))
    relay = relay_for(impostor, central, site="north")
    with pytest.raises(ForwardingError, match="already forwarded by another site store"):
        relay.step()
    assert in_words(ForwardingError("x")) == "x"  # the station shows our own sentence
    first.post_readings(readings(5, 5))
    drain(relay_for(first, central, site="north"))  # the site's own store goes on
    assert central_query(central, "SELECT count(*) FROM readings") == [(10,)]
    first.close()
    impostor.close()


def test_resend_gives_a_restored_central_store_the_readings_it_lost(site, central, capsys):
    relay = relay_for(site, central, readings_batch=20)
    site.post_readings(readings(0, 50))
    drain(relay)
    lost = open_central(central)  # restored from a backup taken before the last 30 readings
    lost.execute("DELETE FROM readings WHERE t_us >= ?", (to_us(T0 + timedelta(seconds=20)),))
    lost.close()
    assert central_query(central, "SELECT count(*) FROM readings") == [(20,)]

    assert main(["resend", "--db", str(site.path)]) == 0
    assert "site north: every reading of" in capsys.readouterr().out
    relay._beat_at = 0  # the idle relay looks at its state now rather than in 5 s
    relay.step()
    drain(relay)
    assert central_readings(central) == site_readings(site)
