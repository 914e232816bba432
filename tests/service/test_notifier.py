"""The notifier against real receivers on loopback: an HTTP webhook and an SMTP server.

Each test is a nurse's timeline in seconds: an alarm is raised in the store, nobody at the
station acknowledges it, and the ladder sends; what arrives, what the audit keeps, and what
stops it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from chairside.channels import Channels
from chairside.notifier import NO_STATION, Notifier
from tests.conftest import query, wait_for
from vitals.chairs import Chair
from vitals.engine import CLINICAL, Episode
from vitals.errors import ConfigError
from vitals.notify_config import parse_notify_config
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.notifications import notifier_status, session_notifications, station_seen


@pytest.fixture
def clinic(fresh_store: StoreWriter, db_path: Path) -> int:
    """Chair 1 with a patient in it; returns the session."""
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    return commands.start_session(db_path, "c1", "P-0042", "iv-ketamine", "Nurse Ada", weight_kg=70)


@pytest.fixture
def run_notifier(fresh_store: StoreWriter) -> Iterator:
    started: list[tuple[Notifier, threading.Event]] = []

    def run(channels: list[tuple[str, str]], ladder: list[dict], **kw) -> Notifier:
        data = {
            "channels": [{"name": n, "url": u} for n, u in channels],
            "ladder": ladder,
            "retry_s": kw.pop("retry_s", 1.0),
        }
        config = parse_notify_config(data, "notify.toml", {})
        stop = threading.Event()
        notifier = Notifier(config, Channels(config), fresh_store, stop, poll_s=0.1, **kw)
        notifier.start()
        started.append((notifier, stop))
        return notifier

    yield run
    for notifier, stop in started:
        stop.set()
        notifier.join(timeout=20)


def raise_alarm(writer: StoreWriter, session: int, level: Level = Level.CRITICAL) -> int:
    episode = Episode(
        "sbp-high",
        CLINICAL,
        level,
        utc_now(),
        Param.SBP,
        peak_value=192,
        reason="SBP 192 mmHg at or above 180",
    )
    writer.write_episodes("c1", session, [episode])
    return max(r[0] for r in query(writer.path, "SELECT id FROM episodes"))


def audit(db: Path) -> list[tuple]:
    return query(
        db, "SELECT step, channel, attempt, delivered, error FROM notifications ORDER BY id"
    )


def test_an_unacknowledged_critical_reaches_the_phone_then_the_team_by_mail_and_is_audited(
    fresh_store, clinic, run_notifier, webhook, mailbox, db_path
) -> None:
    ladder = [
        {"level": "critical", "after_s": 0, "channels": ["nurse-phone"]},
        {"level": "critical", "after_s": 1, "channels": ["team"]},
    ]
    run_notifier(
        [("nurse-phone", webhook.url()), ("team", mailbox.url("team@clinic.example"))], ladder
    )
    episode = raise_alarm(fresh_store, clinic)
    (phone,) = webhook.inbox.wait(1)
    (mail,) = mailbox.inbox.wait(1)
    assert phone.title == mail.title == "Chairside CRITICAL: Chair 1"
    assert mail.body.startswith("SBP 192 mmHg at or above 180. Since ")
    assert "Acknowledge on the Chairside station." in mail.body
    assert mail.path == "team@clinic.example"
    assert (mail.at - phone.at) >= timedelta(seconds=0.9)  # the second rung waited its turn
    wait_for(lambda: len(audit(db_path)) == 2, what="both sends in the audit")
    assert audit(db_path) == [
        ("critical+0s", "nurse-phone", 1, 1, ""),
        ("critical+1s", "team", 1, 1, ""),
    ]
    commands.acknowledge(db_path, episode, "Nurse Ada", "at the chair")
    conn = connect_readonly(db_path)
    log = session_notifications(conn, clinic, "c1", utc_now() - timedelta(hours=1), utc_now())
    conn.close()
    assert list(log.channel) == ["nurse-phone", "team"]
    assert list(log.acked_by) == ["Nurse Ada", "Nurse Ada"]
    assert "****" not in log.target[0] and log.target[1].startswith("mailto://127.0.0.1")


def test_acknowledging_at_the_station_stops_the_ladder(
    fresh_store, clinic, run_notifier, webhook, mailbox, db_path
) -> None:
    ladder = [
        {"level": "critical", "after_s": 0, "channels": ["nurse-phone"]},
        {"level": "critical", "after_s": 2, "channels": ["team"]},
    ]
    run_notifier([("nurse-phone", webhook.url()), ("team", mailbox.url())], ladder)
    episode = raise_alarm(fresh_store, clinic)
    webhook.inbox.wait(1)
    commands.acknowledge(db_path, episode, "Nurse Ada")  # the nurse saw her phone
    time.sleep(3)
    assert mailbox.inbox.snapshot() == []
    assert [row[1] for row in audit(db_path)] == ["nurse-phone"]


def test_a_warning_waits_its_own_step_and_an_advisory_without_one_sends_nothing(
    fresh_store, clinic, run_notifier, webhook, db_path
) -> None:
    ladder = [{"level": "warning", "after_s": 1, "channels": ["nurse-phone"]}]
    run_notifier([("nurse-phone", webhook.url())], ladder)
    raise_alarm(fresh_store, clinic, Level.ADVISORY)
    time.sleep(1.5)
    assert webhook.inbox.snapshot() == []
    started = utc_now()
    fresh_store.write_episodes(
        "c1",
        clinic,
        [Episode("hr-high", CLINICAL, Level.WARNING, started, Param.HR, reason="HR 125")],
    )
    (message,) = webhook.inbox.wait(1)
    assert message.title == "Chairside WARNING: Chair 1"
    assert message.at - started >= timedelta(seconds=1)


def test_a_failing_channel_is_retried_audited_with_its_error_and_shown(
    fresh_store, clinic, run_notifier, webhook, db_path
) -> None:
    webhook.refuse = True
    ladder = [{"level": "critical", "after_s": 0, "channels": ["nurse-phone"]}]
    run_notifier([("nurse-phone", webhook.url())], ladder, retry_s=1.0)
    raise_alarm(fresh_store, clinic)
    wait_for(lambda: len(audit(db_path)) >= 2, what="a failed send and its retry")
    first, second = audit(db_path)[:2]
    assert (first[2], first[3], second[2], second[3]) == (1, 0, 2, 0)
    assert "503" in first[4]
    conn = connect_readonly(db_path)
    state = wait_for(lambda: notifier_status(conn)["channels"]["nurse-phone"].get("ok") is False)
    assert state
    webhook.refuse = False
    webhook.inbox.wait(1, timeout=10)
    wait_for(lambda: notifier_status(conn)["channels"]["nurse-phone"].get("ok") is True, 10)
    conn.close()
    assert audit(db_path)[-1][3] == 1


def test_no_station_watching_is_raised_escalated_and_ended_when_an_overview_opens(
    fresh_store, clinic, run_notifier, webhook, db_path
) -> None:
    ladder = [{"level": "technical", "after_s": 0, "channels": ["nurse-phone"]}]
    run_notifier([("nurse-phone", webhook.url())], ladder, station_fresh_s=0.5)
    (message,) = webhook.inbox.wait(1)
    assert message.title == "Chairside TECHNICAL: Chairside"
    assert message.body.startswith("No station is watching: no Chairside overview open since")
    station_seen(db_path, "station-1", "Nurse Ada")
    sql = "SELECT ended_us IS NOT NULL, reason FROM episodes WHERE rule = ?"
    ended = wait_for(lambda: query(db_path, sql, (NO_STATION,))[0][0], what="the episode's end")
    assert ended
    assert query(db_path, sql, (NO_STATION,))[0][1].endswith("(ended: a station is watching again)")


def test_a_channel_apprise_cannot_use_fails_at_start() -> None:
    config = parse_notify_config(
        {"channels": [{"name": "pager", "url": "pager-co://secret@x"}]}, "notify.toml", {}
    )
    with pytest.raises(ConfigError, match="channel 'pager': apprise cannot use this URL"):
        Channels(config)
