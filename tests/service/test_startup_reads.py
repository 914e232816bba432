"""The recorder's start reads the open session and its window, never the chair's history."""

import re
from datetime import timedelta
from pathlib import Path

from chairside.alerts import ChairAlerts
from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands
from vitals.times import to_us


def test_the_alert_replay_at_start_reads_only_the_open_session_and_its_window(
    db_path: Path,
) -> None:
    now = utc_now()
    old, started = now - timedelta(days=3), now - timedelta(minutes=30)
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    writer.write_readings(recorded_session("c1", "hypertensive", 1, old, 3600))
    writer.write_readings(recorded_session("c1", "typical", 2, now - timedelta(minutes=40), 2400))
    writer.close()
    before = commands.start_session(
        db_path, "c1", "P-1", "iv-ketamine", "Nurse Ada", weight_kg=70, at=old
    )
    commands.end_session(db_path, before, "Nurse Ada", "done", at=old + timedelta(hours=1))
    session = commands.start_session(
        db_path, "c1", "P-2", "iv-ketamine", "Nurse Ada", weight_kg=70, at=started
    )
    commands.add_event(
        db_path, session, "infusion-start", "Nurse Ada", at=started + timedelta(minutes=10)
    )

    writer = StoreWriter(db_path)
    alerts = ChairAlerts("c1", writer)
    asked: list[str] = []
    alerts._conn.set_trace_callback(asked.append)
    alerts.refresh(now)  # what a (re)started recorder does first for every chair
    alerts.close()
    writer.close()

    assert alerts.session is not None and alerts.session.id == session
    window = [
        int(t) for s in asked if "FROM readings" in s for t in re.findall(r"t_us >= (\d+)", s)
    ]
    assert window, asked
    assert min(window) >= to_us(started - timedelta(hours=1)), "read before the open session"
