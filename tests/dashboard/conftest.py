"""A store filled by the simulator: a live chair, a disconnected chair, a chair never heard."""

from datetime import timedelta
from pathlib import Path

import pytest

from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.device_state import DeviceState, LinkState
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands
from vitals.times import to_us


@pytest.fixture
def sample_store(db_path: Path) -> Path:
    now = utc_now()
    writer = StoreWriter(db_path)
    writer.write_chairs(
        [
            Chair("chair-1", "Chair 1", "/dev/ttyUSB0", "ge-s5"),
            Chair("chair-2", "Chair 2", "/dev/ttyUSB1", "ge-s5"),
            Chair("chair-3", "Chair 3", "socket://127.0.0.1:4003", "ge-s5"),
        ]
    )
    writer.write_readings(
        recorded_session("chair-1", "hypertensive", 1, now - timedelta(minutes=20), 20 * 60)
    )
    writer.write_readings(
        recorded_session("chair-2", "typical", 2, now - timedelta(minutes=40), 20 * 60)
    )
    unused = {"OBX 150344 MDC_TEMP": 12, "message ORU^R40": 2}
    connected = DeviceState("chair-1", LinkState.CONNECTED, now, unused=unused)
    writer.write_device_state(connected, to_us(now))
    writer.write_device_state(
        DeviceState(
            "chair-2", LinkState.DISCONNECTED, now - timedelta(minutes=20), last_error="cable out"
        ),
        to_us(now),
    )
    writer.beat(to_us(now - timedelta(hours=1)), to_us(now))
    start = now - timedelta(minutes=19)
    reason = "SBP 186 ≥ 180 for 1 reading (critical)"
    critical = Episode(
        "sbp-high", CLINICAL, Level.CRITICAL, start, Param.SBP, peak_value=186.0, reason=reason
    )
    writer.write_episodes("chair-1", None, [critical])
    writer.close()
    session = commands.start_session(
        db_path,
        "chair-1",
        "P-0001",
        "iv-ketamine",
        "Nurse Ada",
        weight_kg=80,
        at=now - timedelta(minutes=20),  # the baseline is her readings before the infusion
    )
    commands.add_event(
        db_path, session, "infusion-start", "Nurse Ada", at=now - timedelta(minutes=12)
    )
    return db_path
