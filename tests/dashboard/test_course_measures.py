"""The treatment course on the pages: scales on the chair page and the tile, the patient's
tablet form that reaches nothing else, and the REMS record on the review page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, query
from tests.dashboard.test_pages import html, seat
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")
NURSE = "Nurse Ada"
SESSION = 1  # the sample store's open session on chair-1 (P-0001, IV ketamine)


@pytest.fixture
def app(sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    users = tmp_path / "users.toml"
    add_user(users, NURSE, "lovelace")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(users))
    monkeypatch.setenv("CHAIRSIDE_DB", str(sample_store))

    def run(script: str | None = None, signed_in: bool = True) -> AppTest:
        at = (
            AppTest.from_string(script, default_timeout=30)
            if script
            else AppTest.from_file(APP, default_timeout=30)
        )
        if signed_in:
            seat(at)
        at.run()
        assert not at.exception, at.exception
        return at

    return run


CHAIR_PAGE = "from dashboard.pages.chair import chair_page\nchair_page()\n"


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + html(at)
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_nurse_logs_scales_and_the_tile_reminds_her(app, sample_store: Path) -> None:
    overview = app()
    tile = next(h for h in html(overview) if 'data-chair="chair-1"' in h)
    # the infusion started 12 min ago: the 0-min scales' grace (10 min) has passed
    assert "Scales OVERDUE" in tile and "Sedation (MOAA/S)" in tile
    at = app(CHAIR_PAGE)
    at.selectbox(key="scale-sedation").select(4.0)
    at.number_input(key="scale-dissociation").set_value(12.0)
    at.selectbox(key="scale-respiratory").select(0.0)
    [log] = [b for b in at.button if b.label == "Log scores"]
    log.click().run()
    assert not at.exception, at.exception
    rows = query(
        sample_store,
        "SELECT kind, text, value, by FROM events WHERE kind IN "
        "('sedation', 'dissociation', 'respiratory') ORDER BY kind",
    )
    assert rows == [
        ("dissociation", "CADSS 12", 12.0, NURSE),
        ("respiratory", "nurse-rated 0 - breathing normally", 0.0, NURSE),
        ("sedation", "MOAA/S 4 - lethargic response to name spoken in a normal tone", 4.0, NURSE),
    ]
    tile = next(h for h in html(app()) if 'data-chair="chair-1"' in h)
    assert "Scales due in" in tile and "OVERDUE" not in tile.split("Scales")[1]


def test_the_patient_tablet_shows_one_form_and_reaches_nothing_else(
    app, sample_store: Path
) -> None:
    at = app(CHAIR_PAGE)
    at.button(key="hand-phq9").click().run()
    assert "signed_in_user" not in at.session_state  # handing the tablet over signs her out
    # the browser's next run goes through the app's router with what the click left behind
    tablet = AppTest.from_file(APP, default_timeout=30)
    tablet.session_state["patient_form"] = at.session_state["patient_form"]
    tablet.run()
    assert not tablet.exception, tablet.exception
    shown = _texts(tablet)
    assert tablet.title[0].value == "How you have been feeling (PHQ-9)"
    for elsewhere in ("P-0001", "chair-1", "Chair 1", "Signed in as", "Sign out", "cs-tile"):
        assert elsewhere not in shown
    assert not tablet.sidebar.children or not any(tablet.sidebar.button)
    assert len(tablet.radio) == 9 and not tablet.selectbox  # no chair, no patient, no nurse list
    for n, radio in enumerate(tablet.radio):
        radio.set_value([1, 2, 1, 1, 0, 1, 0, 0, 0][n])
    [save] = [b for b in tablet.button if b.label == "Save my answers"]
    save.click().run()
    assert not tablet.exception, tablet.exception
    assert "Thank you" in tablet.success[0].value
    stored = query(sample_store, "SELECT session, text, value, by FROM events WHERE kind = 'phq9'")
    assert stored == [
        (SESSION, "items 1 2 1 1 0 1 0 0 0", 6.0, f"patient (tablet; opened by {NURSE})")
    ]
    tablet.run()  # still the thank-you page: nothing else until a nurse signs in again
    assert "Thank you" in tablet.success[0].value and "P-0001" not in _texts(tablet)
    [back] = [b for b in tablet.button if b.label == "Nurse: sign in"]
    back.click().run()
    assert [t.label for t in tablet.text_input] == ["Nurse", "Password"]  # nothing more
    tablet.text_input[0].input(NURSE)
    tablet.text_input[1].input("wrong")
    tablet.button[-1].click().run()
    assert "Name or password not recognised." in [e.value for e in tablet.error]
    assert "Thank you" in tablet.success[0].value  # still the patient's form, nothing more


def test_side_effect_checklist_from_the_tablet(app, sample_store: Path) -> None:
    from dashboard.pages.patient_form import FORM_KEY, OpenForm

    tablet = AppTest.from_file(APP, default_timeout=30)
    tablet.session_state[FORM_KEY] = OpenForm(SESSION, "side-effects", NURSE)
    tablet.run()
    assert tablet.title[0].value == "How you feel now"
    tablet.radio(key="se-Nausea").set_value(2)
    tablet.radio(key="se-Dizziness").set_value(1)
    [save] = [b for b in tablet.button if b.label == "Save my answers"]
    save.click().run()
    rows = query(
        sample_store,
        "SELECT kind, text, value FROM events"
        " WHERE kind IN ('symptom', 'side-effects') ORDER BY id",
    )
    assert rows == [
        ("symptom", "Dizziness", 1.0),
        ("symptom", "Nausea", 2.0),
        ("side-effects", "Dizziness: mild; Nausea: moderate", 2.0),
    ]


def test_review_offers_the_rems_record(app) -> None:
    at = app("from dashboard.pages.review import review_page\nreview_page()\n")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "session-1-rems-record.csv" in labels
    record = next(d.value for d in at.dataframe if "question" in d.value.columns)
    assert "Blood pressure 40 min post-administration (mmHg)" in record.question.tolist()
    assert not record.evidence.str.contains("UTC").any()  # the clinic's clock on the page
    at.button(key="prepare-session-1-rems-record.pdf").click().run()
    assert not at.exception, at.exception
    assert "session-1-rems-record.pdf" in [b.proto.label for b in at.get("download_button")]


def test_a_phq9_with_thoughts_of_self_harm_is_shown_to_the_nurse(app, sample_store: Path) -> None:
    from vitals.questionnaires import Phq9
    from vitals.store.measures import record_phq9

    assert not [e for e in app(CHAIR_PAGE).error if "question 9" in e.value]
    record_phq9(sample_store, SESSION, Phq9((1, 1, 1, 1, 0, 0, 0, 0, 1)), "patient (tablet)")
    [flag] = [e for e in app(CHAIR_PAGE).error if "question 9" in e.value]
    assert "a clinician must assess the patient before they leave" in flag.value
