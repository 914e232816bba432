"""No thread dies silently: each kind of thread is hit with an injected exception and must be
logged, counted, shown on the chair, and go on (acquisition restarted with back-off)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from chairside.device_clock import DeviceClock
from chairside.outage import LinkWatch
from chairside.recorder import Recorder
from tests.conftest import query, wait_for
from vitals.chairs import Chair
from vitals.device_state import LinkState
from vitals.errors import RecorderRunning
from vitals.reading import Param, Reading, utc_now


def count(db: Path) -> int:
    return query(db, "SELECT count(*) FROM readings")[0][0]


def test_a_worker_that_raises_is_logged_counted_shown_and_restarted(
    start_fleet, run_recorder, db_path: Path, monkeypatch, caplog
) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    recorder = run_recorder(fleet.chairs)
    wait_for(lambda: count(db_path) > 10, what="first readings")
    worker = recorder.workers[0]
    adapter = worker.adapter
    real_feed = adapter.feed
    calls = {"n": 0}

    def poisoned(chunk: bytes):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OverflowError("date value out of range")  # as the 9999 HL7 time once did
        return real_feed(chunk)

    monkeypatch.setattr(adapter, "feed", poisoned)
    failed = "SELECT reason, ended_us FROM episodes WHERE rule = 'acquisition-failed'"
    [(reason, _)] = wait_for(lambda: query(db_path, failed), what="the failure shown")
    assert "acquisition failed: OverflowError: date value out of range" in reason
    wait_for(lambda: query(db_path, failed)[0][1] is not None, what="data again ends it")
    assert query(db_path, "SELECT failures FROM device_state") == [(1,)]
    assert worker.alive and worker.adapter is not adapter  # a fresh decoder
    before = count(db_path)
    wait_for(lambda: count(db_path) > before + 10, what="readings after the restart")
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


def test_the_store_writer_survives_an_error_in_its_own_thread(
    fresh_store, db_path: Path, monkeypatch
) -> None:
    real_commit = fresh_store._commit
    calls = {"n": 0}

    def broken(group):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected")
        return real_commit(group)

    monkeypatch.setattr(fresh_store, "_commit", broken)
    reading = Reading(Param.HR, 70.0).stamped("c1", utc_now(), "ge-s5")
    with pytest.raises(Exception, match="injected"):
        fresh_store.write_readings([reading])  # the caller is answered, not left waiting
    fresh_store.write_readings([reading])
    assert fresh_store.failures == 1 and fresh_store._thread.is_alive()
    assert query(db_path, "SELECT value FROM readings") == [(70.0,)]


def test_alert_evaluation_that_raises_never_stops_acquisition(
    start_fleet, run_recorder, db_path: Path, monkeypatch
) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    recorder = run_recorder(fleet.chairs)
    wait_for(lambda: count(db_path) > 10, what="first readings")
    alerts = recorder.alerts["chair-1"]
    real_feed = alerts.feed
    calls = {"n": 0}

    def broken(readings):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise KeyError("injected")
        return real_feed(readings)

    monkeypatch.setattr(alerts, "feed", broken)
    failed = "SELECT reason, ended_us FROM episodes WHERE rule = 'alerting-failed'"
    [(reason, _)] = wait_for(lambda: query(db_path, failed), what="the alerting failure shown")
    assert "alert evaluation failed (KeyError" in reason
    wait_for(lambda: query(db_path, failed)[0][1] is not None, what="recovered alerting ends it")
    before = count(db_path)
    wait_for(lambda: count(db_path) > before + 10, what="acquisition went on")


def test_a_worker_thread_that_ended_is_started_again(db_path: Path, tmp_path: Path) -> None:
    recorder = Recorder([Chair("g", "Ghost", str(tmp_path / "none"), "ge-s5")], db_path)
    try:
        worker = recorder.workers[0]
        worker._thread = threading.Thread(target=lambda: None)
        worker._thread.start()
        worker._thread.join()
        recorder._watch_workers()
        assert worker.alive
    finally:
        recorder.stop_event.set()
        recorder.workers[0].join(5)
        recorder.writer.close()
        recorder.ownership.release()


def test_a_second_recorder_on_the_same_database_is_refused(db_path: Path, tmp_path: Path) -> None:
    ghost = [Chair("g", "Ghost", str(tmp_path / "none"), "ge-s5")]
    first = Recorder(ghost, db_path)
    try:
        with pytest.raises(RecorderRunning, match=r"already in use by a recorder \(pid \d+ on "):
            Recorder(ghost, db_path)
    finally:
        first.writer.close()
        first.ownership.release()
    Recorder(ghost, db_path).ownership.release()  # released: the next one may start


T0 = utc_now()


def test_an_outage_shorter_than_the_debounce_is_counted_not_alarmed() -> None:
    link = LinkWatch("Chair 1", debounce_s=5)
    assert link.went_bad(LinkState.NO_DATA, "no data for 2 s", T0) == []
    assert link.judge(T0 + timedelta(seconds=3)) == []
    assert link.data(T0 + timedelta(seconds=4)) == [] and link.dropouts == 1


def test_one_episode_per_outage_with_its_attempts() -> None:
    link = LinkWatch("Chair 1", debounce_s=5)
    link.went_bad(LinkState.DISCONNECTED, "port refused", T0)
    shown = []
    for second in range(1, 12):
        shown += link.attempted(T0 + timedelta(seconds=second))
        shown += link.went_bad(LinkState.NO_DATA, "no data", T0 + timedelta(seconds=second))
    assert {e.key for e in shown} == {("device-disconnected", T0)}  # one episode, updated
    assert shown[-1].reason == "Chair 1: no data; at least 8 reconnect attempts"
    [ended] = link.data(T0 + timedelta(seconds=12))
    assert ended.ended == T0 + timedelta(seconds=12)
    assert ended.reason == "Chair 1: no data; 11 reconnect attempts"


def test_a_monitor_off_all_night_updates_its_outage_a_dozen_times_not_thousands() -> None:
    """Tried every 10 s for 16 h: each update of the episode is a link of the audit chain."""
    link = LinkWatch("Chair 1", debounce_s=5)
    link.went_bad(LinkState.DISCONNECTED, "port refused", T0)
    updates = sum(len(link.attempted(T0 + timedelta(seconds=10 * n))) for n in range(1, 5761))
    assert updates == 13  # at 1, 2, 4, ..., 4096 attempts
    [ended] = link.data(T0 + timedelta(hours=16))
    assert ended.reason == "Chair 1: port refused; 5760 reconnect attempts"


def test_a_failure_of_acquisition_is_shown_at_once() -> None:
    link = LinkWatch("Chair 1", debounce_s=5)
    [episode] = link.went_bad(LinkState.FAILED, "acquisition failed: KeyError: 1", T0)
    assert episode.rule == "acquisition-failed" and episode.started == T0


def test_a_device_clock_far_off_is_dropped_and_reported_once_per_jump() -> None:
    clock = DeviceClock(300, "Chair 1")
    ok = Reading(Param.HR, 70.0, device_time=T0 - timedelta(seconds=2))
    assert clock.judge([ok], T0) == ([ok], [])
    year_2099 = T0.replace(year=2099)
    readings, [opened] = clock.judge([Reading(Param.HR, 71.0, device_time=year_2099)], T0)
    assert readings[0].device_time is None and "ahead of the recorder's" in opened.reason
    again = Reading(Param.HR, 72.0, device_time=year_2099 + timedelta(seconds=5))
    assert clock.judge([again], T0 + timedelta(seconds=5))[1] == []  # reported once
    back = Reading(Param.HR, 73.0, device_time=T0.replace(year=1971))
    ended, reopened = clock.judge([back], T0 + timedelta(seconds=6))[1]
    assert ended.ended is not None and "behind" in reopened.reason
    assert DeviceClock(0, "sim").judge([back], T0) == ([back], [])  # 0: not judged


def test_recorder_downtime_is_in_the_sessions_review_and_pdf(db_path: Path, tmp_path: Path) -> None:
    """A freeze during a session is written on the chair, in that session: the review's
    episode list and the PDF report show it with its start and end."""
    from pypdf import PdfReader

    from vitals.exchange.pdf_report import session_report
    from vitals.store import commands, connect_readonly, queries

    recorder = Recorder([Chair("c1", "Chair 1", str(tmp_path / "none"), "ge-s5")], db_path)
    try:
        now = utc_now()
        session = commands.start_session(
            db_path,
            "c1",
            "P-9",
            "iv-ketamine",
            "Nurse Ada",
            weight_kg=70,
            at=now - timedelta(minutes=30),
        )
        start, end = now - timedelta(minutes=10), now - timedelta(minutes=9)
        recorder._record_freeze(start, end, 60.0)
    finally:
        recorder.writer.close()
        recorder.ownership.release()
    conn = connect_readonly(db_path)
    try:
        episodes = queries.episodes(conn, session=session)
        [downtime] = episodes[episodes.rule == "recorder-downtime"].itertuples()
        assert downtime.reason.startswith("recorder not running for 60.0 s")
        session_report(conn, session, tmp_path / "report.pdf")
    finally:
        conn.close()
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "report.pdf").pages)
    assert "recorder not running for 60.0 s" in text.replace("\n", " ")
