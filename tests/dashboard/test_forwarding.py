"""Alarm forwarding on the station: the heartbeat an overview writes, the banner that says the
phones would not be reached, and the forwarded alarms in the review and the PDF."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboard.forwarding import forwarding_banner
from tests.conftest import query
from tests.dashboard import test_pages
from tests.dashboard.test_pages import NURSE, page
from vitals.exchange.pdf_report import session_report
from vitals.reading import utc_now
from vitals.store import StoreWriter, connect_readonly
from vitals.store.notifications import Notification
from vitals.times import to_us

signed_in, users = test_pages.signed_in, test_pages.users  # the pages' sign-in fixtures
NOW = pd.Timestamp("2026-03-02 10:00:00", tz="UTC")


def status(**kw) -> dict:
    base = {
        "started": NOW - pd.Timedelta(hours=1),
        "beat": NOW - pd.Timedelta(seconds=2),
        "stopped": None,
        "problem": "",
        "channels": {"nurse-phone": {"target": "json://x", "ok": True, "error": ""}},
    }
    return base | kw


@pytest.mark.parametrize(
    ("state", "banner"),
    [
        (None, None),
        (status(), None),
        (
            status(channels={"nurse-phone": {"ok": False, "error": "HTTP 503"}, "team": {}}),
            "Alarm forwarding: channel nurse-phone is failing (HTTP 503); retrying",
        ),
        (
            status(problem="notification config n.toml lists no channels: alarms reach no phone"),
            "Alarm forwarding: notification config n.toml lists no channels: alarms reach no phone",
        ),
        (
            status(beat=NOW - pd.Timedelta(minutes=2)),
            "Alarm forwarding not running (last sign 2 min ago): screens only.",
        ),
        (
            status(stopped=NOW - pd.Timedelta(minutes=5)),
            "Alarm forwarding to phones stopped 5 min ago: alarms reach only the screens.",
        ),
    ],
)
def test_the_banner_says_when_phones_would_not_be_reached(state, banner) -> None:
    assert forwarding_banner(state, NOW) == banner


def test_an_open_overview_says_it_watches_and_shows_a_failing_channel(
    signed_in, sample_store: Path
) -> None:
    at = signed_in()
    [(station, by, seen)] = query(sample_store, "SELECT station, by, seen_us FROM stations")
    assert station.startswith("station-") and by == NURSE
    assert abs(seen - to_us(utc_now())) < 60_000_000
    assert not [w for w in at.warning if "Alarm forwarding" in w.value]
    writer = StoreWriter(sample_store)
    failing = {"nurse-phone": {"target": "json://127.0.0.1/x", "ok": False, "error": "HTTP 503"}}
    writer.write_notifier_state(to_us(utc_now()), to_us(utc_now()), "", failing)
    writer.close()
    at.run()
    shown = re.sub(r"\\(.)", r"\1", " ".join(w.value for w in at.warning))  # read as shown
    assert "channel nurse-phone is failing (HTTP 503)" in shown


def forwarded(db: Path) -> None:
    """The fixture's critical SBP on chair 1, forwarded: one failed try, then delivered."""
    (episode,) = query(db, "SELECT id FROM episodes WHERE rule = 'sbp-high'")[0]
    writer = StoreWriter(db)
    for attempt, error in ((1, "connection refused"), (2, "")):
        sent = utc_now() - timedelta(minutes=18, seconds=-attempt * 20)
        writer.write_notification(
            Notification(
                episode,
                "chair-1",
                "critical+30s",
                "nurse-phone",
                "json://127.0.0.1/alarms",
                attempt,
                sent,
                sent,
                not error,
                error,
                "Chairside CRITICAL: Chair 1: SBP 186",
            )
        )
    writer.close()


def test_the_review_and_the_pdf_list_every_forwarded_alarm(signed_in, sample_store: Path) -> None:
    forwarded(sample_store)
    at = signed_in(page("review", "review_page"))
    [log] = [d.value for d in at.dataframe if "Channel" in d.value.columns]
    assert log["Channel"].tolist() == ["nurse-phone", "nurse-phone"]
    assert log["Outcome"].tolist() == [
        "failed (attempt 1): connection refused",
        "delivered (attempt 2)",
    ]
    conn = connect_readonly(sample_store)
    out = sample_store.parent / "report.pdf"
    session_report(conn, 1, out)
    conn.close()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "Alarms forwarded (notifications)" in text
    assert "critical+30s -> nurse-phone, attempt 1: FAILED (connection refused)" in text
    assert "critical+30s -> nurse-phone, attempt 2: delivered" in text
