"""At the recorder's start the chair's alerting is built on a thread of its own while its
workers store what the monitor sends: every reading is judged once, in order, by the built
engine: never by an engine not yet built, never twice, never skipped."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest

import chairside.alerts
from chairside.alerts import ChairAlerts
from tests.conftest import wait_for
from tests.service.test_alerts import sbp
from vitals.chairs import Chair
from vitals.engine import AlertEngine
from vitals.reading import Reading, utc_now
from vitals.store import StoreWriter, commands


def test_what_is_stored_while_the_session_is_replayed_is_judged_once_in_order(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utc_now()
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    commands.start_session(
        db_path,
        "c1",
        "P-1",
        "iv-ketamine",
        "Nurse Ada",
        weight_kg=70,
        at=now - timedelta(minutes=20),
    )
    before = sbp(120, now - timedelta(minutes=15))  # from before the restart
    writer.write_readings(before)

    judged: list[tuple] = []
    real_feed = AlertEngine.feed

    def spy(engine: AlertEngine, reading: Reading) -> list:
        judged.append((reading.param, reading.time, reading.value))
        return real_feed(engine, reading)

    monkeypatch.setattr(AlertEngine, "feed", spy)
    history_read, go_on = threading.Event(), threading.Event()
    real_inputs = chairside.alerts.engine_inputs

    def paused(*args):  # the build has read the stored readings: hold it there
        history_read.set()
        assert go_on.wait(10)
        return real_inputs(*args)

    monkeypatch.setattr(chairside.alerts, "engine_inputs", paused)

    alerts = ChairAlerts("c1", writer)
    early = sbp(130, now - timedelta(seconds=3))
    writer.write_readings(early)
    alerts.feed(early)  # handed over before the alerting is built: it waits
    raced = sbp(140, now - timedelta(seconds=2))
    writer.write_readings(raced)  # committed before the build reads the store...
    assert judged == []
    alerts.build_in_background(now - timedelta(seconds=2))
    assert history_read.wait(10)
    alerts.feed(raced)  # ...but handed over after it (its worker was slow to wake)
    during = sbp(150, now)
    writer.write_readings(during)  # committed and handed over while the replay runs
    alerts.feed(during)
    alerts.refresh(now)  # a worker's refresh meanwhile is skipped, never blocked
    assert judged == []
    go_on.set()
    wait_for(lambda: alerts._waiting is None, what="the build finished")

    def keyed(*batches: list[Reading]) -> list[tuple]:
        return sorted((r.param, r.time, r.value) for batch in batches for r in batch)

    replayed, live = judged[:9], judged[9:]
    assert sorted(replayed) == keyed(before, early, raced)  # each once, from the store
    assert [t for _, t, _ in replayed] == sorted(t for _, t, _ in replayed)  # in time order
    assert sorted(live) == keyed(during)  # once, after the replay
    alerts.feed(sbp(160, now + timedelta(seconds=1)))  # live again, at once
    assert len(judged) == 15
    alerts.close()
    writer.close()
