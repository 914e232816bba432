"""Session summaries against figures worked out by hand on a constructed session."""

from datetime import timedelta
from pathlib import Path

from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, Reading, utc_now
from vitals.review import session_list, session_summary
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly

T0 = utc_now().replace(microsecond=0) - timedelta(hours=2)


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_summary_of_a_constructed_session(db_path: Path) -> None:
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    nibp = [(5, 120, 80, 93), (15, 170, 100, 123), (25, 185, 110, 135), (35, 150, 90, 110)]
    for minute, sbp, dbp, mean in nibp:
        writer.write_readings(
            [
                Reading(p, float(v)).stamped("c1", at(minute), "t")
                for p, v in ((Param.SBP, sbp), (Param.DBP, dbp), (Param.MAP, mean))
            ]
        )
    writer.write_readings(
        [
            Reading(Param.HR, float(v)).stamped("c1", at(m), "t")
            for m, v in ((5, 70), (20, 95), (30, 80))
        ]
    )
    session = commands.start_session(
        db_path, "c1", "P-9", "iv-ketamine", "Nurse Ada", weight_kg=70, at=T0
    )
    commands.add_event(db_path, session, "infusion-start", "Nurse Ada", at=at(10))
    episodes = [
        Episode("sbp-high", CLINICAL, Level.CRITICAL, at(15), Param.SBP, reason="sbp"),
        Episode("dbp-high", CLINICAL, Level.WARNING, at(15), Param.DBP, reason="dbp"),
        Episode("sbp-rise", CLINICAL, Level.ADVISORY, at(16), Param.SBP, reason="rise"),
    ]
    writer.write_episodes("c1", session, episodes)
    writer.close()
    commands.acknowledge(db_path, 1, "Nurse Ada", at=at(18))  # 3 min after the start
    commands.acknowledge(db_path, 2, "Nurse Ben", at=at(20))  # 5 min
    commands.end_session(db_path, session, "Nurse Ada", "done", at=at(40))

    conn = connect_readonly(db_path)
    row = session_summary(conn, session, utc_now())
    assert row["duration_min"] == 40.0
    assert (row["baseline_sbp"], row["baseline_dbp"], row["baseline_hr"]) == (120.0, 80.0, 70.0)
    assert (row["peak_sbp"], row["peak_sbp_min"]) == (185.0, 15.0)  # minutes after the dose
    assert (row["peak_dbp"], row["peak_dbp_min"]) == (110.0, 15.0)
    assert (row["peak_hr"], row["peak_hr_min"]) == (95.0, 10.0)
    # each value holds until the next one: 170 for 10 min, 185 for 10 min, 150 below
    assert row["min_above_sbp-high_warning"] == 20.0
    assert row["min_above_sbp-high_critical"] == 10.0
    assert row["min_above_dbp-high_warning"] == 20.0
    assert row["min_above_dbp-high_critical"] == 0.0
    assert row["min_above_hr-high_warning"] == 0.0
    assert (row["alerts_advisory"], row["alerts_warning"], row["alerts_critical"]) == (1, 1, 1)
    assert (row["ack_median_min"], row["ack_max_min"], row["unacknowledged"]) == (4.0, 5.0, 0)
    assert row["discharge"].startswith("not yet ready for discharge: 30 of 70 min")
    assert session_list(conn, utc_now()).session.tolist() == [session]


def test_a_session_without_readings_summarises_to_zeros(db_path: Path) -> None:
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    writer.close()
    session = commands.start_session(db_path, "c1", "P-8", "iv-ketamine", "Nurse Ada", weight_kg=70)
    row = session_summary(connect_readonly(db_path), session, utc_now())
    assert row["peak_sbp"] is None and row["min_above_sbp-high_warning"] == 0.0
    assert row["ack_median_min"] is None and row["unacknowledged"] == 0


def test_what_if_reruns_the_engine_with_other_thresholds(db_path: Path) -> None:
    from vitals.clinical import load_protocol
    from vitals.review import what_if

    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    for minute, sbp in ((5, 150), (15, 170), (25, 172), (35, 150)):
        writer.write_readings(
            [
                Reading(p, float(v)).stamped("c1", at(minute), "t")
                for p, v in ((Param.SBP, sbp), (Param.DBP, 80), (Param.MAP, 100))
            ]
        )
    writer.close()
    session = commands.start_session(
        db_path, "c1", "P-7", "iv-ketamine", "Nurse Ada", weight_kg=70, at=T0
    )
    commands.end_session(db_path, session, "Nurse Ada", "done", at=at(40))
    conn = connect_readonly(db_path)
    rules = load_protocol("iv-ketamine").rules
    default = what_if(conn, session, rules)
    assert default[default.rule == "sbp-high"][["level", "started"]].values.tolist() == [
        ["warning", at(15)]
    ]
    stricter = what_if(conn, session, rules.changed("sbp-high", Level.WARNING, 175))
    assert stricter[stricter.rule == "sbp-high"].empty  # 170 and 172 stay below 175
