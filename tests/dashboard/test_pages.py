"""Every page through Streamlit's AppTest on a simulator-filled store: what a nurse sees and
what each click writes."""

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, query
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands
from vitals.times import to_us
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")
NURSE = "Nurse Ada"


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, NURSE, "lovelace")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(path))
    return path


@pytest.fixture
def signed_in(sample_store: Path, users: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))

    def run(script: str | None = None) -> AppTest:
        at = (
            AppTest.from_string(script, default_timeout=30)
            if script
            else AppTest.from_file(APP, default_timeout=30)
        )
        at.session_state["signed_in_user"] = NURSE
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def page(module: str, function: str) -> str:
    return f"from dashboard.pages.{module} import {function}\n{function}()\n"


def tiles(at: AppTest) -> list[str]:
    """The chair tiles in chair order (the page lays them out in columns)."""
    found = [m.value for m in at.markdown if m.value.startswith('<div class="cs-tile')]
    return sorted(found, key=lambda html: html.split('data-chair="')[1])


def test_sign_in_gates_every_page(sample_store: Path, users: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.selectbox[0].options == [NURSE] and not tiles(at)
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "not recognised" in at.error[0].value
    at.text_input[0].input("lovelace")
    at.button[0].click().run()
    assert len(tiles(at)) == 3
    assert f"Signed in as **{NURSE}**" in [m.value for m in at.sidebar.markdown]


def test_overview_marks_the_critical_chair_unmistakably(signed_in) -> None:
    at = signed_in()
    one, two, three = tiles(at)
    assert (
        'data-status="critical"' in one
        and "cs-flash" in one
        and "CRITICAL — NOT ACKNOWLEDGED" in one
    )
    assert "SBP 186 ≥ 180 for 1 reading (critical)" in one
    assert "P-0001 · iv-ketamine · dose 12 min ago" in one and "BP check" in one
    assert "s ago" in one and "<svg" in one  # every value with its age, and a sparkline
    assert 'data-status="technical"' in two and "Monitor disconnected" in two
    assert "not current" in two  # chair 2's values are 20 min old: greyed and said so
    assert "No session — monitor limits apply" in three and "never received" in three
    assert len(at.get("audio")) == 1  # the critical alarm sounds


def test_acknowledging_writes_the_audit_row_and_silences(signed_in, sample_store: Path) -> None:
    at = signed_in()
    [ack] = [b for b in at.button if b.label == "Acknowledge"]
    ack.click().run()
    at.text_input[0].input("doctor informed")
    at.button(key="ack-confirm").click().run()
    assert query(sample_store, "SELECT by, comment FROM acknowledgments") == [
        (NURSE, "doctor informed")
    ]
    assert query(sample_store, "SELECT acked_by, ended_utc FROM episodes_v") == [(NURSE, None)]
    at.run()
    assert "cs-flash" not in tiles(at)[0] and "CRITICAL" in tiles(at)[0]  # still open, silenced
    assert len(at.get("audio")) == 0


def test_sound_off_is_shown_and_silent(signed_in) -> None:
    at = signed_in()
    at.sidebar.toggle[0].set_value(False).run()
    assert any("Alarm sound is OFF" in w.value for w in at.warning)
    assert len(at.get("audio")) == 0


def test_stale_heartbeat_shows_recorder_not_running(signed_in, sample_store: Path) -> None:
    writer = StoreWriter(sample_store)
    writer.beat(1, to_us(utc_now()) - 120_000_000)
    writer.close()
    at = signed_in()
    assert any("Recorder not running" in e.value for e in at.error)


def test_chair_detail_shows_chart_alerts_and_logs_events(signed_in, sample_store: Path) -> None:
    at = signed_in(page("chair", "chair_page"))
    assert at.selectbox[0].value == "chair-1"
    assert len(at.get("plotly_chart")) == 1
    assert any("SBP 186 ≥ 180" in e.value for e in at.error)
    assert any("Baseline SBP" in c.value and "median of" in c.value for c in at.caption)
    [unused] = [e for e in at.expander if e.label == "Received from the monitor but not used"]
    table = unused.dataframe[0].value
    assert table.values.tolist() == [
        ["monitor", "OBX 150344 MDC_TEMP", 12],
        ["monitor", "message ORU^R40", 2],
    ]
    [dose] = [b for b in at.button if b.label == "BP check requested"]
    dose.click().run()
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
    assert any(c.value.startswith("Discharge: not yet — ") for c in at.caption)
    at.number_input[0].set_value(128.0)
    at.number_input[1].set_value(80.0)
    [enter] = [b for b in at.button if b.label == "Enter baseline"]
    enter.click().run()
    rows = query(sample_store, "SELECT kind, text, value FROM events WHERE kind = 'baseline'")
    assert rows == [
        ("baseline", "sbp baseline entered", 128.0),
        ("baseline", "dbp baseline entered", 80.0),
    ]


def test_ending_a_session_records_the_verdict(signed_in, sample_store: Path) -> None:
    at = signed_in(page("chair", "chair_page"))
    [end] = [b for b in at.button if b.label == "End session…"]
    end.click().run()
    assert any("not yet ready for discharge" in w.value for w in at.warning)
    at.button(key="end-confirm").click().run()
    [(ended_by, discharge)] = query(sample_store, "SELECT ended_by, discharge FROM sessions")
    assert ended_by == NURSE and discharge.startswith("not yet ready for discharge")


def test_starting_a_session_with_an_override(signed_in, sample_store: Path) -> None:
    at = signed_in(page("sessions", "sessions_page"))
    assert at.selectbox[0].options == ["chair-2", "chair-3"]  # chair-1 has a session
    at.selectbox[1].set_value("esketamine-nasal").run()
    at.text_input[0].input("P-0099")
    [table] = at.dataframe
    assert {"rule", "level", "default", "override"} <= set(table.value.columns)
    [start] = [b for b in at.button if b.label == "Start session"]
    start.click().run()
    rows = query(
        sample_store,
        "SELECT chair, patient, protocol, dose_mg, started_by FROM sessions"
        " WHERE patient = 'P-0099'",
    )
    assert rows == [("chair-2", "P-0099", "esketamine-nasal", 56.0, NURSE)]


def test_bad_patient_reference_is_refused_with_a_message(signed_in, sample_store: Path) -> None:
    at = signed_in(page("sessions", "sessions_page"))
    at.text_input[0].input("Jane Doe")
    [start] = [b for b in at.button if b.label == "Start session"]
    start.click().run()
    assert "pseudonymous" in at.error[0].value


def test_missing_database_is_an_error_message_not_a_crash(
    users, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CHAIRSIDE_DB", str(tmp_path / "none.db"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["signed_in_user"] = NURSE
    at.run()
    assert "does not exist yet" in at.error[0].value


def test_review_lists_sessions_and_offers_every_export(signed_in) -> None:
    at = signed_in(page("review", "review_page"))
    [listing, *_] = at.dataframe
    assert listing.value.session.tolist() == [1] and listing.value.patient.tolist() == ["P-0001"]
    shown = listing.value.columns.tolist()
    assert {"peak_hr_min", "alerts_advisory", "min_above_sbp-high_critical"} <= set(shown)
    assert shown[-1] == "discharge"
    assert len(at.get("plotly_chart")) == 1
    assert any(c.value.startswith("Record verified at ") for c in at.caption)
    prepare = [b.label for b in at.button if b.label.startswith("Prepare")]
    assert prepare == ["Prepare CSV", "Prepare PDF", "Prepare HL7", "Prepare FHIR"]
    at.button(key="prepare-session-1-report.pdf").click().run()
    assert not at.exception, at.exception
    [download] = at.get("download_button")
    assert download.proto.label == "session-1-report.pdf"
    assert any(m.value == "**With iv-ketamine**" for m in at.markdown)  # the what-if panel
    at.text_input[0].input("P-9999").run()
    assert at.dataframe[0].value.empty


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
    at = AppTest.from_string(page("course", "course_page"), default_timeout=30)
    at.session_state["signed_in_user"] = NURSE
    at.run()
    assert not at.exception, at.exception
    at.selectbox[0].select("P-2041").run()
    [table] = at.dataframe
    assert len(table.value) == sum(p.patient.ref == "P-2041" for p in PLAN)
    assert table.value["Started (UTC)"].is_monotonic_increasing
    assert table.value["SBP rise"].notna().all()
    assert len(at.get("plotly_chart")) == 1
    assert [b.proto.label for b in at.get("download_button")] == ["course.csv"]

    review = AppTest.from_string(page("review", "review_page"), default_timeout=30)
    review.session_state["signed_in_user"] = NURSE
    review.run()
    assert not review.exception, review.exception
    assert len(review.dataframe[0].value) == len(PLAN)
    first_week = [p for p in PLAN if p.day < 7]
    review.date_input[1].set_value(date(2026, 10, 11)).run()  # "To": the first week only
    assert len(review.dataframe[0].value) == len(first_week)
    review.checkbox[1].check().run()  # "Unacknowledged alerts": what an auditor must see
    assert review.dataframe[0].value.patient.tolist() == ["P-1187"]
