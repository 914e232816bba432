"""Session summaries against figures worked out by hand on a constructed session."""

from datetime import timedelta
from pathlib import Path

import pandas as pd

from tests.conftest import outside_writer, query
from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, Reading, utc_now
from vitals.review import keep_summaries, session_page, session_summary
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.location import PostgresServer

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
    assert row["discharge"].startswith("not yet ready for discharge: 30 of 130 min")
    assert session_page(conn, utc_now()).rows.session.tolist() == [session]


def test_time_below_a_low_line_counts_as_time_above_a_high_one_does(db_path: Path) -> None:
    """A fall: SBP 85 for 10 min, then 65 for 10 min (MAP 60, then 40). Below the warning line
    (< 90) 20 min, below the critical (< 70) 10 min; MAP below 60 only while it was 40 (the
    low lines are strict, as the rules compare)."""
    session = _session_with_sbp(db_path, "P-4", 0, [(5, 120), (15, 85), (25, 65), (35, 120)])
    commands.end_session(db_path, session, "Nurse Ada", "done", at=at(40))
    row = session_summary(connect_readonly(db_path), session, utc_now())
    assert row["min_below_sbp-low_warning"] == 20.0
    assert row["min_below_sbp-low_critical"] == 10.0
    assert row["min_below_map-low_critical"] == 10.0
    assert row["min_above_sbp-high_warning"] == 0.0


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


def _session_with_sbp(
    db_path: Path | PostgresServer,
    patient: str,
    start_min: float,
    sbp_by_minute: list[tuple[float, float]],
) -> int:
    """A session on c1 from ``start_min`` with a 10-min pre-dose period and the given SBPs."""
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    for minute, sbp in sbp_by_minute:
        writer.write_readings(
            [
                Reading(p, float(v)).stamped("c1", at(start_min + minute), "t")
                for p, v in ((Param.SBP, sbp), (Param.DBP, sbp - 40), (Param.MAP, sbp - 25))
            ]
        )
    writer.close()
    session = commands.start_session(
        db_path, "c1", patient, "iv-ketamine", "Nurse Ada", weight_kg=70, at=at(start_min)
    )
    commands.add_event(db_path, session, "infusion-start", "Nurse Ada", at=at(start_min + 10))
    return session


def test_course_of_one_patient_across_sessions(db_path: Path) -> None:
    from vitals.review import course, patients

    # baseline 120 (margin 20): above 140 until minute 35, back at 45 = 35 min after the dose
    first = _session_with_sbp(db_path, "P-9", 0, [(5, 120), (15, 150), (35, 165), (45, 135)])
    commands.add_event(db_path, first, "dissociation", "Nurse Ada", "CADSS", 12, at(20))
    commands.add_event(db_path, first, "dissociation", "Nurse Ada", "CADSS", 20, at(30))
    commands.add_event(db_path, first, "symptom", "Nurse Ada", "nausea", 3, at(25))
    commands.add_event(db_path, first, "symptom", "Nurse Ada", "dizziness", at=at(26))
    commands.end_session(db_path, first, "Nurse Ada", "done", at=at(50))
    # never more than 20 above its baseline of 130: back from the start
    second = _session_with_sbp(db_path, "P-9", 60, [(5, 130), (20, 149), (40, 140)])
    commands.end_session(db_path, second, "Nurse Ada", "done", at=at(110))
    # still high at its last reading: not back within the session
    third = _session_with_sbp(db_path, "P-9", -115, [(5, 110), (30, 160)])
    commands.end_session(db_path, third, "Nurse Ada", "done", at=at(-75))
    other = _session_with_sbp(db_path, "Q-1", 120, [(5, 120)])

    conn = connect_readonly(db_path)
    assert patients(conn) == ["P-9", "Q-1"]
    rows = course(conn, "P-9", utc_now())
    assert rows.session.tolist() == [third, first, second]  # oldest first, Q-1 left out
    assert other not in rows.session.tolist()
    assert rows.baseline_sbp.tolist() == [110.0, 120.0, 130.0]
    assert rows.baseline_dbp.tolist() == [70.0, 80.0, 90.0]
    assert rows.rise_sbp.tolist() == [50.0, 45.0, 19.0]
    assert rows.rise_dbp.tolist() == [50.0, 45.0, 19.0]
    assert [None if pd.isna(v) else v for v in rows.back_to_baseline_min] == [None, 35.0, 0.0]
    assert rows.still_raised_at_end.tolist() == [True, False, False]
    first_row = rows.iloc[1]
    assert first_row.dissociation_max == 20.0
    assert first_row.side_effects == "nausea (3); dizziness"
    assert first_row.side_effect_max == 3.0
    assert rows.iloc[2].side_effects == "" and pd.isna(rows.iloc[2].dissociation_max)


def _ended_with_a_missed_warning(db_path: Path) -> tuple[int, int]:
    """A session whose SBP warning nobody acknowledged before it ended: (session, episode)."""
    session = _session_with_sbp(db_path, "P-5", 0, [(5, 120), (15, 170), (25, 172), (35, 130)])
    writer = StoreWriter(db_path)
    warning = Episode("sbp-high", CLINICAL, Level.WARNING, at(15), Param.SBP, reason="sbp")
    writer.write_episodes("c1", session, [warning])
    writer.close()
    commands.end_session(db_path, session, "Nurse Ada", "done", at=at(40))
    keep_summaries(db_path, [session])
    return session, 1


def _listed(db_path: Path) -> dict:
    conn = connect_readonly(db_path)
    try:
        return session_page(conn, utc_now(), keep=db_path).rows.iloc[0].to_dict()
    finally:
        conn.close()


def _never_computed(*_args, **_kwargs):
    raise AssertionError("a fresh stored summary was computed again")


def test_an_ended_session_is_summarised_once_then_read_from_the_store(
    db_path: Path, monkeypatch
) -> None:
    session, _ = _ended_with_a_missed_warning(db_path)
    assert query(db_path, "SELECT session FROM session_summaries") == [(session,)]
    monkeypatch.setattr("vitals.review.session_summary", _never_computed)
    row = _listed(db_path)
    assert (row["session"], row["peak_sbp"], row["unacknowledged"]) == (session, 172.0, 1)
    writer = StoreWriter(db_path)  # the next patient's readings are no input of this summary
    writer.write_readings([Reading(Param.SBP, 190.0).stamped("c1", at(45), "t")])
    writer.close()
    assert _listed(db_path)["peak_sbp"] == 172.0


def test_a_stored_summary_is_recomputed_when_anything_it_is_made_of_changes(
    db_path: Path, monkeypatch
) -> None:
    session, episode = _ended_with_a_missed_warning(db_path)
    commands.acknowledge(db_path, episode, "Nurse Ben", at=at(50))  # a late acknowledgment
    row = _listed(db_path)
    assert (row["unacknowledged"], row["ack_max_min"]) == (0, 35.0)
    writer = StoreWriter(db_path)  # a reading of the session imported after it ended
    writer.write_readings([Reading(Param.SBP, 181.0).stamped("c1", at(30), "import")])
    writer.close()
    assert _listed(db_path)["peak_sbp"] == 181.0
    monkeypatch.setattr("vitals.review.summary_stamp", lambda: "other code or presets")
    computed = []
    real = session_summary
    monkeypatch.setattr(
        "vitals.review.session_summary", lambda *a: computed.append(a[1]) or real(*a)
    )
    assert _listed(db_path)["peak_sbp"] == 181.0 and computed == [session]
    assert _listed(db_path)["peak_sbp"] == 181.0 and computed == [session]  # and kept


def test_a_change_while_a_summary_is_computed_is_never_served_stale(
    db_path: Path, monkeypatch
) -> None:
    session, episode = _ended_with_a_missed_warning(db_path)
    real = commands.save_summaries

    def acknowledged_meanwhile(db, rows):
        commands.acknowledge(db_path, episode, "Nurse Ben", at=at(50))
        real(db, rows)

    writer = StoreWriter(db_path)  # make the stored summary stale, so the list recomputes it
    writer.write_readings([Reading(Param.SBP, 150.0).stamped("c1", at(31), "import")])
    writer.close()
    monkeypatch.setattr("vitals.store.commands.save_summaries", acknowledged_meanwhile)
    assert _listed(db_path)["unacknowledged"] == 1  # computed before the acknowledgment
    monkeypatch.setattr("vitals.store.commands.save_summaries", real)
    assert _listed(db_path)["unacknowledged"] == 0  # what was stored is known to be stale
    assert session in {s for (s,) in query(db_path, "SELECT session FROM session_summaries")}


def test_a_reading_corrected_or_deleted_afterwards_is_not_hidden_by_the_stored_summary(
    store_db: Path | PostgresServer,
) -> None:
    """Chairside only adds readings, but a database tool can change one: the clinic's IT
    corrects a systolic of 170 to 160 after the session ended, later deletes it. The list
    must show what the readings now give, not the summary stored before the change."""
    session = _session_with_sbp(store_db, "P-7", 0, [(5, 120), (15, 170), (25, 150)])
    commands.end_session(store_db, session, "Nurse Ada", "done", at=at(40))
    keep_summaries(store_db, [session])
    assert _listed(store_db)["peak_sbp"] == 170.0
    for statement, peak in (
        ("UPDATE readings SET value = 160 WHERE value = 170", 160.0),
        ("DELETE FROM readings WHERE value = 160", 150.0),
    ):
        conn = outside_writer(store_db)
        conn.execute(statement)
        conn.commit()
        conn.close()
        assert _listed(store_db)["peak_sbp"] == peak, statement


def test_the_list_tells_a_running_session_from_an_ended_one_on_either_engine(
    store_db: Path | PostgresServer, monkeypatch
) -> None:
    """Chair 1's morning patient left at 40 min; the next one is still in the chair when the
    clinician opens the list: her row has no end, the morning's has its end, also when its
    figures come from the stored summary rather than being computed again."""
    morning = _session_with_sbp(store_db, "P-5", 0, [(5, 120), (15, 150), (35, 130)])
    commands.end_session(store_db, morning, "Nurse Ada", "done", at=at(40))
    keep_summaries(store_db, [morning])
    running = _session_with_sbp(store_db, "P-6", 50, [(5, 125), (15, 150)])
    monkeypatch.setattr("vitals.review.session_summary", _never_computed_for(morning))
    conn = connect_readonly(store_db)
    try:
        rows = session_page(conn, utc_now()).rows.set_index("session")
    finally:
        conn.close()
    assert pd.isna(rows.ended[running]) and rows.duration_min[running] > 0
    assert rows.ended[morning] == at(40) and rows.duration_min[morning] == 40.0


def _never_computed_for(stored: int):
    """``session_summary`` that refuses to compute the session whose summary is stored."""
    real = session_summary
    return lambda conn, session, now: (
        _never_computed() if session == stored else real(conn, session, now)
    )


def test_the_list_pages_newest_first_and_its_filters_agree_with_the_figures(
    tmp_path: Path,
) -> None:
    from simulators.sample_clinic import SAMPLE_DB
    from vitals.store import copy_store
    from vitals.store.listing import SessionFilter

    db = tmp_path / "sample.db"
    copy_store(SAMPLE_DB, db)
    conn = connect_readonly(db)
    later = utc_now()
    everything = session_page(conn, later, per_page=100).rows
    assert everything.started.is_monotonic_decreasing and len(everything) == 10
    pages = [session_page(conn, later, page=n, per_page=4) for n in range(3)]
    assert [p.pages for p in pages] == [3, 3, 3] and pages[0].total == 10
    paged = [s for p in pages for s in p.rows.session.tolist()]
    assert paged == everything.session.tolist()
    for flag, figure in (("critical", "alerts_critical"), ("unacknowledged", "unacknowledged")):
        kept = session_page(conn, later, SessionFilter(**{flag: True})).rows
        assert kept.session.tolist() == everything[everything[figure] > 0].session.tolist()
        assert 0 < len(kept) < 10
