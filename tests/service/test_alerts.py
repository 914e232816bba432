"""Live alerting in the recorder: the engine fed from the store, sessions, schedule, link."""

import threading
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from chairside.alerts import ChairAlerts
from chairside.simulated_sessions import SimulatedSessions
from tests.conftest import query, wait_for
from vitals.chairs import Chair
from vitals.reading import Param, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands
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
        (dose + timedelta(minutes=17)).strftime("%Y-%m-%dT%H:%M")
    )  # 5 + 10 + 2 grace
    assert overdue[5] is None and "not taken within 2 min" in overdue[6]
    store_and_feed(chair_store, alerts, sbp(125, now))
    alerts.refresh(now + timedelta(seconds=1))
    [overdue] = [e for e in episodes(db_path) if e[0] == "nibp-overdue"]
    assert overdue[5] is not None
    alerts.close()


def test_rule_change_ends_the_open_episode_and_restart_continues_it(
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
    store_and_feed(chair_store, alerts, sbp(171, now - timedelta(minutes=7)))
    assert [(e[0], e[2], e[5]) for e in episodes(db_path)] == [("sbp-high", "warning", None)]
    restarted = ChairAlerts("c1", chair_store)  # a recorder restart replays the session
    restarted.refresh(now)
    assert [(e[0], e[2], e[5]) for e in episodes(db_path)] == [("sbp-high", "warning", None)]
    commands.change_threshold(db_path, session, "sbp-high", Level.WARNING, 175, "Dr Lee")
    restarted.refresh(now + timedelta(seconds=1))
    [(_, _, _, _, _, ended, reason)] = episodes(db_path)
    assert ended is not None and reason.endswith("(ended: alert rules reloaded)")
    assert query(db_path, "SELECT rule_json LIKE '%165%' FROM episodes") == [
        (1,)
    ]  # raised under 165
    alerts.close()
    restarted.close()


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
        "SELECT t_us, value FROM readings WHERE param = 'sbp' AND quality = 'ok' ORDER BY t_us",
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
