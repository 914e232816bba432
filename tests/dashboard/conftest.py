"""A store filled by the simulator: a live chair, a disconnected chair, a chair never heard."""

from datetime import timedelta
from pathlib import Path

import pytest

from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.device_state import DeviceState, LinkState
from vitals.reading import utc_now
from vitals.store import StoreWriter
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
    writer.write_device_state(DeviceState("chair-1", LinkState.CONNECTED, now), to_us(now))
    writer.write_device_state(
        DeviceState(
            "chair-2", LinkState.DISCONNECTED, now - timedelta(minutes=20), last_error="cable out"
        ),
        to_us(now),
    )
    writer.beat(to_us(now - timedelta(hours=1)), to_us(now))
    writer.close()
    return db_path
