"""Live alerting in the recorder: the engine fed from the store, sessions, schedule, link."""

import threading
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from chairside.alerts import ChairAlerts, OpenSessions
from chairside.simulated_sessions import SimulatedSessions
from tests.conftest import query, wait_for
from vitals.chairs import Chair
from vitals.reading import Param, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.times import to_us


@pytest.fixture
def chair_store(fresh_store: StoreWriter) -> StoreWriter:
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    return fresh_store


def sbp(value: float, at) -> list[Reading]:
    return [
        Reading(p, v).stamped("c1", at, "ge-s5")
        for p, v in ((Param.SBP, value), (Param.DBP, 80.0), (Param.MAP, 100.0))
    ]


def store_and_feed(writer: StoreWriter, alerts: ChairAlerts, readings: list[Reading]) -> None:
    writer.write_readings(readings)
    alerts.feed(readings)


def episodes(db: Path) -> list[tuple]:
    return query(
        db,
        "SELECT rule, kind, level, session, started_utc, ended_utc, reason"
        " FROM episodes_v ORDER BY started_utc",
    )


def test_a_chair_without_session_is_watched_with_monitor_limits(
    chair_store: StoreWriter, db_path: Path
) -> None:
    alerts = ChairAlerts("c1", chair_store)
    alerts.refresh(utc_now())
    store_and_feed(chair_store, alerts, sbp(185, utc_now()))
    [(rule, kind, level, session, *_rest)] = episodes(db_path)
    assert (rule, kind, level, session) == ("sbp-high", "clinical", "critical", None)
    alerts.close()


def test_overdue_bp_check_opens_and_ends_at_the_next_check(
    chair_store: StoreWriter, db_path: Path
) -> None:
    now = utc_now()
    session = commands.start_session(
        db_path,
        "c1",
        "P-1",
        "iv-ketamine",
        "Nurse Ada",
        weight_kg=70,
        at=now - timedelta(minutes=40),
    )
    dose = now - timedelta(minutes=30)
    commands.add_event(db_path, session, "infusion-start", "Nurse Ada", at=dose)
    chair_store.write_readings(sbp(120, dose + timedelta(minutes=5)))  # then nothing for 25 min
    alerts = ChairAlerts("c1", chair_store)
    alerts.refresh(now)
    [overdue] = [e for e in episodes(db_path) if e[0] == "nibp-overdue"]
    assert overdue[1:4] == ("technical", "warning", session)
    assert overdue[4].startswith(
        (dose + timedelta(minutes=12)).strftime("%Y-%m-%dT%H:%M")
    )  # due at 10 (the check at 5 is no check for it) + 2 grace
    assert overdue[5] is None
    assert overdue[6] == (
        "BP check due 10 min after the dose not taken within 2 min; 2 checks missed in a row"
    )
    store_and_feed(chair_store, alerts, sbp(125, now))
    alerts.refresh(now + timedelta(seconds=1))
    [overdue] = [e for e in episodes(db_path) if e[0] == "nibp-overdue"]
    assert overdue[5] is not None
    alerts.close()


def test_rule_changes_re_judge_open_alarms_and_a_restart_continues_them(
    chair_store: StoreWriter, db_path: Path
) -> None:
    now = utc_now()
    session = commands.start_session(
        db_path,
        "c1",
        "P-2",
        "iv-ketamine",
        "Nurse Ada",
        weight_kg=70,
        at=now - timedelta(minutes=10),
    )
    alerts = ChairAlerts("c1", chair_store)
    alerts.refresh(now - timedelta(minutes=9))
    store_and_feed(chair_store, alerts, sbp(170, now - timedelta(minutes=8)))
    assert [(e[0], e[2], e[5]) for e in episodes(db_path)] == [("sbp-high", "warning", None)]
    restarted = ChairAlerts("c1", chair_store)  # a recorder restart replays the session
    restarted.refresh(now)
    assert [(e[0], e[2], e[5]) for e in episodes(db_path)] == [("sbp-high", "warning", None)]
    commands.change_threshold(db_path, session, "sbp-high", Level.WARNING, 165, "Dr Lee")
    restarted.refresh(now + timedelta(seconds=1))
    assert [(e[0], e[2], e[5]) for e in episodes(db_path)] == [("sbp-high", "warning", None)]
    commands.change_threshold(db_path, session, "sbp-high", Level.WARNING, 175, "Dr Lee")
    restarted.refresh(now + timedelta(seconds=2))
    [(_, _, _, _, _, ended, reason)] = episodes(db_path)
    assert ended is not None
    assert reason.endswith("(ended: no longer holds after the alert thresholds changed)")
    assert query(db_path, "SELECT rule_json LIKE '%160%' FROM episodes") == [(1,)]  # raised so
    alerts.close()
    restarted.close()


def test_a_threshold_change_at_the_cuffs_cadence_never_drops_an_alarm(
    chair_store: StoreWriter, db_path: Path
) -> None:
    """IV infusion from 09:00 (10 min ago, as the clock goes), cuff every 10 min.
    +10 cuff 162/92: warning at once. +15 the doctor raises the warning line to 170: the alarm
    no longer holds and ends, saying so. +20 cuff 172/94: a new warning. +25 the line goes back
    to 160: the +20 alarm continues, no gap, no second row. +30 cuff 150/90: it ends."""
    dose = utc_now().replace(microsecond=0) - timedelta(minutes=40)

    def at(minutes: float):
        return dose + timedelta(minutes=minutes)

    session = commands.start_session(
        db_path, "c1", "P-3", "iv-ketamine", "Nurse Ada", weight_kg=70, at=at(-10)
    )
    commands.add_event(db_path, session, "infusion-start", "Nurse Ada", at=dose)
    alerts = ChairAlerts("c1", chair_store)
    alerts.refresh(at(1))
    store_and_feed(chair_store, alerts, sbp(162, at(10)))
    commands.change_threshold(db_path, session, "sbp-high", Level.WARNING, 170, "Dr Lee", at(15))
    alerts.refresh(at(15))
    store_and_feed(chair_store, alerts, sbp(172, at(20)))
    commands.change_threshold(db_path, session, "sbp-high", Level.WARNING, 160, "Dr Lee", at(25))
    alerts.refresh(at(25))
    rows = query(
        db_path,
        "SELECT started_us, ended_us, reason FROM episodes WHERE rule = 'sbp-high' ORDER BY id",
    )
    first, second = rows
    assert first[:2] == (to_us(at(10)), to_us(at(15)))
    assert first[2].endswith("(ended: no longer holds after the alert thresholds changed)")
    assert second[:2] == (to_us(at(20)), None)  # continued across the change, one row
    store_and_feed(chair_store, alerts, sbp(150, at(30)))
    assert query(db_path, "SELECT ended_us FROM episodes WHERE rule = 'sbp-high'")[-1] == (
        to_us(at(30)),
    )
    alerts.close()


def esketamine_with_a_cuff_result(writer: StoreWriter, db: Path, systolic: float) -> tuple:
    """An esketamine session opened 20 min ago, a cuff result 5 min into it, not yet dosed."""
    start = utc_now().replace(microsecond=0) - timedelta(minutes=20)
    session = commands.start_session(
        db, "c1", "P-4", "esketamine-nasal", "Nurse Ada", dose_mg=56, at=start
    )
    alerts = ChairAlerts("c1", writer)
    alerts.refresh(start)
    store_and_feed(writer, alerts, sbp(systolic, start + timedelta(minutes=5)))
    return session, start, alerts


def test_the_dose_ends_pre_dose_advisories_naming_who_dosed(
    chair_store: StoreWriter, db_path: Path
) -> None:
    session, start, alerts = esketamine_with_a_cuff_result(chair_store, db_path, 152)
    dose = start + timedelta(minutes=10)
    commands.add_event(db_path, session, "dose", "Nurse Ben", at=dose)
    alerts.refresh(dose + timedelta(seconds=1))
    [(ended, reason)] = query(
        db_path, "SELECT ended_us, reason FROM episodes WHERE rule = 'pre-dose-sbp'"
    )
    assert ended == to_us(dose)
    assert reason.endswith("(ended at the dose, given by Nurse Ben despite this alert)")
    alerts.close()


def test_a_protocol_change_keeps_the_alarms_that_still_hold(
    chair_store: StoreWriter, db_path: Path
) -> None:
    session, start, alerts = esketamine_with_a_cuff_result(chair_store, db_path, 185)
    commands.change_protocol(db_path, session, "iv-ketamine", "Dr Lee", weight_kg=70)
    alerts.refresh(start + timedelta(minutes=6))
    rows = query(db_path, "SELECT rule, level, ended_us FROM episodes ORDER BY rule")
    assert ("sbp-high", "critical", None) in rows  # common to both protocols: continues
    [(ended, reason)] = query(
        db_path, "SELECT ended_us, reason FROM episodes WHERE rule = 'pre-dose-sbp'"
    )
    assert ended is not None and reason.endswith("after the protocol changed)")
    text = query(db_path, "SELECT text FROM events WHERE kind = 'protocol'")
    assert text == [("protocol esketamine-nasal -> iv-ketamine",)]
    alerts.close()


def test_hypertensive_scenario_raises_a_warning_that_escalates_to_critical(
    start_fleet, run_recorder, db_path: Path
) -> None:
    sessions = SimulatedSessions(db_path)
    fleet = start_fleet(chairs=1, scenario="hypertensive", speed=300, sessions=sessions)
    run_recorder(fleet.chairs)
    seen: list[str] = []

    def levels() -> bool:
        rows = query(db_path, "SELECT level FROM episodes WHERE rule = 'sbp-high'")
        seen.extend(r[0] for r in rows if not seen or seen[-1] != r[0])
        return rows and rows[0][0] == "critical"

    wait_for(levels, timeout=40, what="a critical SBP episode")
    assert seen[0] == "warning" and seen[-1] == "critical", seen
    [(started_us, session)] = query(
        db_path, "SELECT started_us, session FROM episodes WHERE rule = 'sbp-high'"
    )
    assert session == sessions.sessions["chair-1"]
    values = query(
        db_path,
        "SELECT t_us, value FROM readings_full WHERE param = 'sbp' AND quality = 'ok'"
        " ORDER BY t_us",
    )
    first = next(t for (t, v), (_, w) in pairwise(values) if v >= 165 and w >= 165)
    assert started_us == first  # the episode starts at the first reading of the run


def test_unplugged_monitor_is_a_technical_episode_until_it_returns(
    start_fleet, run_recorder, db_path: Path
) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    run_recorder(fleet.chairs)
    wait_for(lambda: query(db_path, "SELECT count(*) FROM readings")[0][0] > 5, what="readings")
    fleet.monitors[0].unplug()
    wait_for(
        lambda: query(
            db_path,
            "SELECT 1 FROM episodes WHERE rule = 'device-disconnected' AND ended_us IS NULL",
        ),
        what="an open disconnected episode",
    )
    fleet.monitors[0].replug()
    wait_for(
        lambda: query(
            db_path,
            "SELECT 1 FROM episodes WHERE rule = 'device-disconnected' AND ended_us IS NOT NULL",
        ),
        what="the episode to end",
    )
    assert query(
        db_path, "SELECT kind, level FROM episodes WHERE rule = 'device-disconnected'"
    ) == [("technical", "warning")]


def test_recorder_downtime_is_recorded_at_the_next_start(run_recorder, db_path: Path) -> None:
    ghost = [Chair("g", "Ghost", str(db_path.parent / "none"), "ge-s5")]
    recorder = run_recorder(ghost)
    wait_for(lambda: query(db_path, "SELECT 1 FROM heartbeat"), what="a heartbeat")
    recorder.stop()
    wait_for(
        lambda: query(db_path, "SELECT 1 FROM heartbeat WHERE stopped_us IS NOT NULL"),
        what="a clean stop",
    )
    writer = StoreWriter(db_path)
    writer.beat(1, to_us(utc_now() - timedelta(minutes=3)))  # as if it died 3 minutes ago
    writer.close()
    run_recorder(ghost)
    downtime = "SELECT chair, reason FROM episodes WHERE rule = 'recorder-downtime'"
    [(chair, reason)] = wait_for(lambda: query(db_path, downtime), what="a downtime episode")
    assert chair == "g" and reason.startswith("recorder not running for 3.0 min")
    assert "crash or kill" in reason


def test_a_bp_check_requested_by_a_nurse_starts_the_simulated_cuff(
    start_fleet, db_path: Path
) -> None:
    sessions = SimulatedSessions(db_path)
    fleet = start_fleet(chairs=1, speed=60, sessions=sessions, nibp_interval_s=3600)
    model = fleet.models["chair-1"]
    wait_for(lambda: model.nibp_count == 1, what="the first cycled measurement")
    stop = threading.Event()
    sessions.follow_bp_requests(fleet, stop, every_s=0.1)
    try:
        commands.add_event(db_path, sessions.sessions["chair-1"], "bp-check", "Nurse Ada")
        wait_for(lambda: model.nibp_count == 2, timeout=10, what="the requested measurement")
    finally:
        stop.set()


def test_the_chairs_share_one_read_of_the_open_sessions_and_see_what_a_full_read_sees(
    chair_store: StoreWriter, db_path: Path
) -> None:
    """A chair checks every second whether its session changed. The recorder's chairs share
    one short read of every open session (no rule sets) for half a second; what it gives a
    chair is exactly what the chair's full read of its session gives, so a check that finds
    nothing new never rebuilds, and one that finds a dose or a baseline always does."""
    conn = connect_readonly(db_path)
    asked: list[str] = []
    conn.set_trace_callback(asked.append)
    shared = OpenSessions(max_age_s=60)
    assert shared.signature(conn, "c1") is None  # no session yet
    session = commands.start_session(db_path, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70)
    assert shared.signature(conn, "c1") is None  # the read of a moment ago still serves
    assert shared.signature(conn, "c2") is None
    assert sum("FROM sessions" in s for s in asked) == 1

    alone = OpenSessions()  # a chair on its own reads at every check
    commands.add_event(db_path, session, "infusion-start", "Nurse Ada")
    commands.enter_baseline(db_path, session, {Param.SBP: 128.0, Param.HR: 72.0}, "Nurse Ada")
    short = alone.signature(conn, "c1")
    full = queries.session_signature(queries.active_session(conn, "c1"))
    assert short == full and short[0] == session and short[3] is not None
    assert short[4] == (("hr", 72.0), ("sbp", 128.0))
    conn.close()
