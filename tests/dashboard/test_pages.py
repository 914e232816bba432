"""Every page through Streamlit's AppTest on a simulator-filled store: what a nurse sees and
what each click writes."""

import re
import sqlite3
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import Station
from dashboard.overview_model import build_tiles
from dashboard.sound import alarm_level
from tests.conftest import ROOT, query
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.times import to_us
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")
NURSE = "Nurse Ada"
SBP_HIGH = {"param": "sbp", "direction": "high", "tiers": {"warning": 165, "critical": 180}}


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, NURSE, "lovelace")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(path))
    monkeypatch.setenv("CHAIRSIDE_TIMEZONE", "America/Chicago")
    return path


def seat(at: AppTest, station: Station | None = None) -> AppTest:
    """A browser signed in: the station its cookie stands for (AppTest cannot send cookies);
    each a station of its own, as each browser's cookie is (what a station keeps, such as a
    tablet handed to a patient, must not leak into another test)."""
    own = Station(NURSE, time.time(), f"test-station-{uuid.uuid4().hex}")
    at.session_state["station"] = station or own
    return at


@pytest.fixture
def signed_in(sample_store: Path, users: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))

    def run(script: str | None = None, station: Station | None = None) -> AppTest:
        at = (
            AppTest.from_string(script, default_timeout=30)
            if script
            else AppTest.from_file(APP, default_timeout=30)
        )
        seat(at, station).run()
        assert not at.exception, at.exception
        return at

    return run


def page(module: str, function: str) -> str:
    return f"from dashboard.pages.{module} import {function}\n{function}()\n"


def html(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def tiles(at: AppTest) -> list[str]:
    """The chair tiles in chair order (the page lays them out in columns)."""
    found = [body for body in html(at) if body.startswith('<div class="cs-tile')]
    return sorted(found, key=lambda body: body.split('data-chair="')[1])


def texts(at: AppTest) -> str:
    """Everything a nurse reads on the page (messages, captions, Markdown, tiles), as read:
    without the backslashes that keep outside text from being taken for Markdown."""
    parts = [e.value for kind in ("error", "warning", "info", "success") for e in at.get(kind)]
    parts += [c.value for c in at.caption] + [m.value for m in at.markdown] + html(at)
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def keyed(node, key: str) -> list:
    """The containers made with ``st.container(key=key)`` under ``node``."""
    found = []
    if str(getattr(getattr(node, "proto", None), "id", "")).endswith(f"-{key}"):
        found.append(node)
    for child in getattr(node, "children", {}).values():
        found += keyed(child, key)
    return found


def escalate(db: Path, level: Level, started) -> None:
    """The recorder raises chair 1's open SBP episode to ``level`` (same episode, new level)."""
    writer = StoreWriter(db)
    reason = f"SBP 190 ≥ 180 for 1 reading ({level.label})"
    episode = Episode(
        "sbp-high", CLINICAL, level, started, Param.SBP, peak_value=190.0, reason=reason
    )
    writer.write_episodes("chair-1", None, [episode])
    writer.close()


def test_signed_out_every_page_asks_for_a_sign_in_that_comes_back(
    sample_store: Path, users: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not tiles(at) and "signed out" in texts(at)
    [link] = [m.value for m in at.markdown if "cs-sign-in" in m.value]
    assert 'href="/station/sign-in?next=/"' in link and 'target="_self"' in link


def test_overview_marks_the_critical_chair_unmistakably(signed_in) -> None:
    at = signed_in()
    one, two, three = tiles(at)
    assert (
        'data-status="critical"' in one
        and "cs-flash" in one
        and "CRITICAL — NOT ACKNOWLEDGED" in one
    )
    assert "High SBP: peak 186 mmHg" in one
    assert "P-0001 · IV ketamine · dose 12 min ago" in one and "BP check" in one
    assert "s ago" in one and "cs-spark" in one  # every value with its age, and a sparkline
    # chair 2's values are 20 min old: greyed, said so, and the chair is not called normal
    assert 'data-status="nodata"' in two and "NO CURRENT DATA — since" in two
    assert "Monitor disconnected" in two and "not current" in two
    assert "cable out" not in two  # the recorder's own message stays in the store
    assert "No session — monitor limits apply" in three and "never received" in three
    assert "NO CURRENT DATA — no readings yet" in three
    assert len(at.get("audio")) == 1  # one sound: the most severe, the critical alarm
    [alarm] = keyed(at.main, "alarm")
    # ...from the one hidden container (the player and the script that keeps it playing),
    # never moving tiles
    assert [child.type for child in alarm.children.values()] == ["audio", "html"]
    assert "Recording: pid" in texts(at)


def test_acknowledging_writes_the_audit_row_and_silences(signed_in, sample_store: Path) -> None:
    at = signed_in()
    [ack] = [b for b in at.button if b.label == "Acknowledge"]
    ack.click().run()
    at.text_input(key="ack-comment").input("doctor informed")
    at.button(key="ack-confirm").click().run()
    assert query(sample_store, "SELECT by, comment, level_seen FROM acknowledgments") == [
        (NURSE, "doctor informed", "critical")
    ]
    assert query(sample_store, "SELECT acked_by, ended_utc FROM episodes_v") == [(NURSE, None)]
    at.run()
    assert "cs-flash" not in tiles(at)[0] and "CRITICAL" in tiles(at)[0]  # still open, silenced
    # what still sounds is the technical tone of the two chairs without current data
    assert len(at.get("audio")) == 1
    conn = connect_readonly(sample_store)
    levels = [
        level for t in build_tiles(conn, pd.Timestamp.now(tz="UTC")) for level in t.alarm_levels
    ]
    conn.close()
    assert alarm_level(levels) == "technical"


def test_the_acknowledge_dialog_shows_an_escalation_before_anything_is_acknowledged(
    signed_in, sample_store: Path
) -> None:
    started = utc_now() - timedelta(minutes=2)
    escalate(sample_store, Level.WARNING, started)  # chair 1 also has a warning, 2 min old
    at = signed_in()
    [ack] = [b for b in at.button if b.label == "Acknowledge"]
    ack.click().run()
    assert "WARNING: High SBP: peak 190 mmHg" in texts(at)
    escalate(sample_store, Level.CRITICAL, started)  # ...which escalates while the dialog is open
    at.run()  # the live page refreshes the dialog
    assert "ESCALATED from warning to critical" in texts(at)
    assert at.button(key="ack-confirm").disabled
    assert query(sample_store, "SELECT count(*) FROM acknowledgments") == [(0,)]
    at.button(key="ack-seen").click().run()
    assert "ESCALATED" not in texts(at) and not at.button(key="ack-confirm").disabled
    at.button(key="ack-confirm").click().run()
    assert sorted(query(sample_store, "SELECT level_seen FROM acknowledgments")) == [
        ("critical",),
        ("critical",),
    ]


def test_an_alert_that_starts_while_the_dialog_is_open_is_shown_as_new(
    signed_in, sample_store: Path
) -> None:
    at = signed_in()
    [ack] = [b for b in at.button if b.label == "Acknowledge"]
    ack.click().run()
    escalate(sample_store, Level.WARNING, utc_now())
    at.run()
    assert "NEW since you opened this" in texts(at) and at.button(key="ack-confirm").disabled


def test_sound_off_is_shown_silent_and_kept_across_a_reload(signed_in) -> None:
    station = Station(NURSE, time.time(), "sound-test")
    at = signed_in(station=station)
    at.toggle(key="sound_on").set_value(False).run()
    assert any("Alarm sound is OFF" in w.value for w in at.warning)
    assert len(at.get("audio")) == 0
    reloaded = signed_in(station=station)  # F5: a new browser session, the same station
    assert not reloaded.toggle(key="sound_on").value
    assert any("Alarm sound is OFF" in w.value for w in reloaded.warning)


def test_an_idle_station_locks_but_keeps_every_chair_and_alarm(signed_in, monkeypatch) -> None:
    monkeypatch.setenv("CHAIRSIDE_IDLE_LOCK_MIN", "10")
    idle = Station(NURSE, time.time() - 3600, "idle-station")  # signed in 1 h ago, unused
    at = signed_in(station=idle)
    assert "Locked: locked after 10 min without use" in texts(at)
    assert len(tiles(at)) == 3 and len(at.get("audio")) == 1  # chairs and alarm stay
    assert not [b for b in at.button if b.label in ("Acknowledge", "Details")]  # read-only
    [link] = [m.value for m in at.markdown if "cs-sign-in" in m.value]
    assert "nurse=Nurse%20Ada" in link
    from dashboard.chrome import locked_page, signed_out_page
    from dashboard.navigation import page_functions
    from dashboard.pages.overview import overview_page

    runs = page_functions(idle)  # what each address runs: the overview, and a lock elsewhere
    assert runs["overview"] is overview_page and runs["review"] is locked_page
    assert set(page_functions(None).values()) == {signed_out_page}
    assert page_functions(Station(NURSE, time.time(), "busy"))["review"] is not locked_page


def test_a_station_signed_in_long_ago_may_show_but_not_act(signed_in) -> None:
    old = Station(NURSE, time.time() - 13 * 3600, "old-station")
    at = signed_in(station=old)
    assert "more than 12 hours old" in texts(at)
    assert len(tiles(at)) == 3
    assert not [b for b in at.button if b.label == "Acknowledge"]


def test_stale_heartbeat_shows_recorder_not_running(
    signed_in, sample_store: Path, live_chair_1
) -> None:
    live_chair_1.stop()
    writer = StoreWriter(sample_store)
    writer.beat(1, to_us(utc_now()) - 120_000_000)
    writer.close()
    at = signed_in()
    assert any("Recorder not running" in e.value for e in at.error)


def test_chair_detail_shows_chart_alerts_events_and_logs_events(
    signed_in, sample_store: Path
) -> None:
    at = signed_in(page("chair", "chair_page"))
    assert at.selectbox[0].value == "chair-1"
    assert at.selectbox[0].format_func("chair-1") == "Chair 1"
    assert len(at.get("plotly_chart")) == 1
    assert "CRITICAL (high priority) — High SBP: peak 186 mmHg" in texts(at)
    assert "Baseline SBP" in texts(at) and "median of" in texts(at)
    alerts, events = (d.value for d in at.dataframe[:2])
    assert list(alerts.columns) == ["Level", "Alert", "Started", "Ended", "Acknowledged"]
    assert alerts.iloc[0].tolist()[:2] == ["Critical", "High SBP: peak 186 mmHg"]
    assert "Infusion started" in events.Event.tolist()
    [unused] = [e for e in at.expander if e.label == "Received from the monitor but not used"]
    table = unused.dataframe[0].value
    assert table.values.tolist() == [
        ["monitor", "OBX 150344 MDC_TEMP", 12],
        ["monitor", "message ORU^R40", 2],
    ]
    [check] = [b for b in at.button if b.label == "BP check requested"]
    check.click().run()
    at.selectbox[1].set_value("medication")
    at.text_input[0].input("clonidine 0.1 mg")
    at.number_input[0].set_value(0.1)
    [log] = [b for b in at.button if b.label == "Log"]
    log.click().run()
    rows = query(
        sample_store,
        "SELECT kind, text, value, by FROM events WHERE kind IN ('bp-check', 'medication')",
    )
    assert rows == [("bp-check", "", None, NURSE), ("medication", "clonidine 0.1 mg", 0.1, NURSE)]


def test_a_nurse_documenting_at_another_chair_still_hears_chair_1s_critical(signed_in) -> None:
    """Chair 1's critical waits for a nurse; she opens Chair 2's page to document. The station
    keeps sounding Chair 1's alarm (not only the shown chair's) and says whose it is."""
    at = signed_in(page("chair", "chair_page"))  # Chair 1's own page: its alarm, no "also"
    assert len(at.get("audio")) == 1 and "Chair 1 — critical" not in texts(at)
    assert "Also sounding: Chair 2 — no current data; Chair 3 — no current data" in texts(at)
    at.selectbox[0].set_value("chair-2").run()
    assert not at.exception, at.exception
    assert len(at.get("audio")) == 1  # the station's one sound: the most severe of all chairs
    assert "Also sounding: Chair 1 — critical alarm not acknowledged; Chair 3" in texts(at)


def test_too_few_pre_dose_readings_ask_for_a_baseline_by_hand(
    signed_in, sample_store: Path
) -> None:
    """Chair 2's patient was dosed a minute into her session: no reading of hers before the
    dose, so the page says so and takes the baseline by hand; the verdict lists what is unmet."""
    now = utc_now()
    session = commands.start_session(
        sample_store,
        "chair-2",
        "P-0002",
        "iv-ketamine",
        NURSE,
        weight_kg=60,
        at=now - timedelta(minutes=10),
    )
    commands.add_event(
        sample_store, session, "infusion-start", NURSE, at=now - timedelta(minutes=9)
    )
    at = signed_in(page("chair", "chair_page"))
    at.selectbox[0].set_value("chair-2").run()
    assert any("too few readings before the dose" in w.value for w in at.warning)
    assert "Discharge: not yet — " in texts(at)
    at.number_input[0].set_value(128.0)
    at.number_input[1].set_value(80.0)
    [enter] = [b for b in at.button if b.label == "Enter baseline"]
    enter.click().run()
    rows = query(sample_store, "SELECT kind, text, value FROM events WHERE kind = 'baseline'")
    assert rows == [
        ("baseline", "sbp baseline entered", 128.0),
        ("baseline", "dbp baseline entered", 80.0),
    ]


def test_an_empty_symptom_is_refused_in_plain_words(signed_in, sample_store: Path) -> None:
    at = signed_in(page("chair", "chair_page"))
    at.selectbox[1].set_value("symptom")
    at.text_input[0].input("   ")
    [log] = [b for b in at.button if b.label == "Log"]
    log.click().run()
    assert any(e.value == "Say which symptom the patient has." for e in at.error)
    assert query(sample_store, "SELECT count(*) FROM events WHERE kind = 'symptom'") == [(0,)]


def test_ending_a_session_before_it_is_ready_needs_a_reason_and_shows_a_summary(
    signed_in, sample_store: Path
) -> None:
    at = signed_in(page("chair", "chair_page"))
    [end] = [b for b in at.button if b.label == "End session…"]
    end.click().run()
    assert any("not yet ready for discharge" in w.value for w in at.warning)
    at.button(key="end-confirm").click().run()
    assert any("say why the session ends now" in e.value for e in at.error)
    at.run()  # the live page's next refresh: the request stays until she has read it
    assert any("say why the session ends now" in e.value for e in at.error)
    assert query(sample_store, "SELECT ended_by FROM sessions") == [(None,)]
    at.text_area(key="end-reason").input("patient left with escort, doctor informed")
    at.button(key="end-confirm").click().run()
    [(ended_by, discharge)] = query(sample_store, "SELECT ended_by, discharge FROM sessions")
    assert ended_by == NURSE and discharge.startswith("not yet ready for discharge")
    assert discharge.endswith("ended before ready: patient left with escort, doctor informed")
    [(text,)] = query(sample_store, "SELECT text FROM events WHERE kind = 'session-end'")
    assert "patient left with escort" in text  # in the append-only audit trail
    assert "Session ended: P-0001 · IV ketamine" in texts(at)
    assert {m.label for m in at.get("metric")} >= {"Peak SBP", "Alerts", "Not acknowledged"}


def test_starting_a_session_with_an_override(signed_in, sample_store: Path) -> None:
    at = signed_in(page("sessions", "sessions_page"))
    chairs = at.selectbox[0]
    assert chairs.options == ["Chair 2", "Chair 3"]  # by name; chair-1 has a session
    chairs.set_value("chair-2")
    at.selectbox[1].set_value("esketamine-nasal").run()
    at.text_input[0].input("P-0099")
    [table] = at.dataframe
    assert list(table.value.columns) == ["Alert", "Level", "Default", "Override"]
    assert "High SBP" in table.value.Alert.tolist() and "sbp-high" not in table.value.Alert.tolist()
    [start] = [b for b in at.button if b.label == "Start session"]
    start.click().run()
    rows = query(
        sample_store,
        "SELECT chair, patient, protocol, dose_mg, started_by FROM sessions"
        " WHERE patient = 'P-0099'",
    )
    assert rows == [("chair-2", "P-0099", "esketamine-nasal", 56.0, NURSE)]


def test_the_start_form_says_what_is_missing_in_plain_words(signed_in) -> None:
    at = signed_in(page("sessions", "sessions_page"))
    at.selectbox[1].set_value("iv-ketamine").run()
    [start] = [b for b in at.button if b.label == "Start session"]
    start.click().run()  # IV ketamine: no patient reference, no weight
    [error] = at.error
    assert "enter the patient reference" in error.value
    assert "enter the patient's weight in kg (20–300); the dose is 0.5 mg per kg" in error.value
    assert "--weight" not in error.value and "None" not in error.value
    at.text_input[0].input("Jane Doe")
    [start] = [b for b in at.button if b.label == "Start session"]
    start.click().run()
    assert "no names, no spaces" in at.error[0].value


def test_missing_database_is_an_error_message_not_a_crash(
    users, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CHAIRSIDE_DB", str(tmp_path / "none.db"))
    at = seat(AppTest.from_file(APP, default_timeout=30)).run()
    assert "does not exist yet" in at.error[0].value


def test_times_are_the_clinics_local_times(signed_in, sample_store: Path) -> None:
    at = signed_in(page("chair", "chair_page"))
    [header] = [m.value for m in at.markdown if "started" in m.value]
    [(started_us,)] = query(sample_store, "SELECT started_us FROM sessions WHERE ended_us IS NULL")
    chicago = __import__("zoneinfo").ZoneInfo("America/Chicago")
    started = datetime.fromtimestamp(started_us / 1e6, chicago)
    assert f"{started:%H}\\:{started:%M}" in header  # Markdown-escaped "HH:MM", Chicago time
    assert "UTC" not in texts(at) and "+00:00" not in texts(at)


def test_text_from_config_nurses_and_devices_is_never_rendered(
    sample_store: Path, users: Path, monkeypatch
) -> None:
    from vitals.chairs import Chair
    from vitals.store import commands

    evil = "![x](http://127.0.0.1:9/pixel.png) **bold** <img src=x> :red[red] $x^2$"
    writer = StoreWriter(sample_store)
    writer.write_chairs([Chair("chair-1", evil, "/dev/ttyUSB0", "ge-s5")])
    writer.close()
    add_user(Path(users), evil, "secret")
    session = query(sample_store, "SELECT id FROM sessions")[0][0]
    commands.add_event(sample_store, session, "note", evil, evil)
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))
    for script in (None, page("chair", "chair_page"), page("sessions", "sessions_page")):
        at = AppTest.from_file(APP) if script is None else AppTest.from_string(script)
        seat(at, Station(evil, time.time(), "evil")).run(timeout=30)
        for shown in [m.value for m in at.markdown if not m.proto.allow_html] + [
            e.value for kind in ("error", "warning", "info", "caption") for e in at.get(kind)
        ]:
            if "pixel" in shown:
                assert "\\!\\[x\\]\\(http\\:" in shown, shown  # escaped: shown, never fetched
        for body in html(at) + [m.value for m in at.markdown if m.proto.allow_html]:
            assert "<img src=x>" not in body  # HTML is escaped; st.html renders no Markdown


def test_review_lists_sessions_and_offers_every_export(signed_in) -> None:
    at = signed_in(page("review", "review_page"))
    [listing, *_] = at.dataframe
    assert listing.value.Patient.tolist() == ["P-0001"]
    shown = [c for c in listing.value.columns if c != "session"]
    assert shown[:3] == ["Alerts", "Not acknowledged", "Started"]  # the deciding column first
    assert shown[-1] == "Discharge" and listing.value.Discharge.tolist() == ["Running"]
    assert listing.value.Chair.tolist() == ["Chair 1"]
    assert len(at.get("plotly_chart")) == 1
    chicago = __import__("zoneinfo").ZoneInfo("America/Chicago")
    now = [f"{datetime.now(chicago) - timedelta(minutes=m):%H:%M}" for m in (0, 1)]
    [verified] = [c.value for c in at.caption if c.value.startswith("Record verified at ")]
    assert verified.split()[3].rstrip(":") in now  # the clinic's time, not the machine's UTC
    prepare = [b.label for b in at.button if b.label.startswith("Prepare")]
    assert prepare == ["Prepare CSV", "Prepare PDF", "Prepare HL7", "Prepare FHIR", "Prepare REMS"]
    at.button(key="prepare-session-1-report.pdf").click().run()
    assert not at.exception, at.exception
    downloads = [b.proto.label for b in at.get("download_button")]
    assert "session-1-report.pdf" in downloads
    assert not any(m.value == "**With IV ketamine**" for m in at.markdown)  # until asked
    at.toggle(key="wi-run").set_value(True).run()
    assert any(m.value == "**With IV ketamine**" for m in at.markdown)  # the what-if panel
    at.text_input[0].input("P-9999").run()
    assert "No session matches these filters." in [i.value for i in at.info]
    assert not at.dataframe


def test_a_session_still_running_never_reads_as_ended_not_ready(
    signed_in, sample_store: Path
) -> None:
    """Chair 1's patient is 20 minutes into her infusion when an auditor opens the Review:
    the list and the session say she is still in the chair, not that she was never ready to
    leave; once the nurse ends the session, the list gives its verdict and the notice is gone."""
    at = signed_in(page("review", "review_page"))
    assert at.dataframe[0].value.Discharge.tolist() == ["Running"]
    [session] = [s for s in at.selectbox if s.label == "Session"]
    assert session.format_func(session.value).endswith("· Chair 1 · P-0001 · still running")
    [(started_us,)] = query(sample_store, "SELECT started_us FROM sessions WHERE ended_us IS NULL")
    chicago = __import__("zoneinfo").ZoneInfo("America/Chicago")
    since = f"{datetime.fromtimestamp(started_us / 1e6, chicago):%H:%M}"
    [notice] = [w.value for w in at.warning if "Still running" in w.value]
    assert notice.startswith("Still running")
    read = texts(at)
    assert f"the patient has been in Chair 1 since {since}. The figures" in read
    assert re.search(rf"Running since {since} \(2\d min so far\)\.", read), read
    assert "Discharge so far: not yet ready for discharge" in read
    assert "Duration" not in read and "UTC" not in read and "None" not in read

    reason = "ended before ready: patient left with escort"
    commands.end_session(sample_store, session.value, NURSE, reason)
    at.run()
    assert at.dataframe[0].value.Discharge.tolist() == ["Not yet ready"]  # now it is a verdict
    read = texts(at)
    assert "Still running" not in read and "Running since" not in read
    assert re.search(r"Duration 2\d min\.", read), read
    assert "Discharge: not yet ready for discharge" in read


def test_a_running_sessions_raised_sbp_is_at_its_latest_reading_not_at_its_end() -> None:
    from dashboard.review_tables import back_near_baseline

    assert back_near_baseline(None, True, running=True) == "still raised at the latest reading"
    assert back_near_baseline(None, True) == "still raised at the end"
    assert back_near_baseline(25.0, False, running=True) == "25 min after the dose"


def test_review_says_when_the_record_does_not_verify(signed_in, sample_store: Path) -> None:
    conn = sqlite3.connect(sample_store)
    conn.execute("DROP TRIGGER audit_chain_events_update")  # someone with sqlite3 and the file
    conn.commit()
    conn.close()
    from dashboard.pages.review import _verdict

    _verdict.clear()  # checked again, not the verdict of a few minutes ago
    at = signed_in(page("review", "review_page"))
    assert "Record NOT verified" in at.error[0].value


def test_review_exports_report_their_progress(sample_store: Path) -> None:
    from dashboard.pages.review import export_bytes

    seen: list[tuple[str, int, int]] = []
    assert export_bytes(sample_store, 1, "pdf", lambda *step: seen.append(step)).startswith(b"%PDF")
    assert seen == [("report.pdf", 0, 1), ("report.pdf", 1, 1)]
    assert export_bytes(sample_store, 1, "csv").startswith(b"chair,time")
    assert export_bytes(sample_store, 1, "hl7").startswith(b"MSH|")
    assert b'"resourceType": "Bundle"' in export_bytes(sample_store, 1, "fhir")


def test_course_and_review_work_on_the_committed_sample(
    users: Path, tmp_path: Path, monkeypatch
) -> None:
    from simulators.sample_clinic import PLAN, SAMPLE_DB
    from vitals.store import copy_store

    db = tmp_path / "sample.db"
    copy_store(SAMPLE_DB, db)
    monkeypatch.setenv("CHAIRSIDE_DB", str(db))
    at = seat(AppTest.from_string(page("course", "course_page"), default_timeout=30))
    at.run()
    assert not at.exception, at.exception
    at.selectbox[0].select("P-2041").run()
    [table] = at.dataframe
    assert len(table.value) == sum(p.patient.ref == "P-2041" for p in PLAN)
    assert table.value["Started"].is_monotonic_increasing
    assert table.value["Rise"].notna().all()
    assert str(table.value["Started"].dt.tz) == "America/Chicago"
    assert len(at.get("plotly_chart")) == 2  # BP and alerts; PHQ-9 and side effects
    assert [b.proto.label for b in at.get("download_button")] == ["course.csv", "course.pdf"]

    review = seat(AppTest.from_string(page("review", "review_page"), default_timeout=30))
    review.run()
    assert not review.exception, review.exception
    assert len(review.dataframe[0].value) == len(PLAN)
    first_week = [p for p in PLAN if p.day < 7]
    review.date_input[1].set_value(date(2026, 10, 11)).run()  # "To": the first week only
    assert len(review.dataframe[0].value) == len(first_week)
    review.checkbox[1].check().run()  # "Unacknowledged alerts": what an auditor must see
    assert review.dataframe[0].value.Patient.tolist() == ["P-1187"]
