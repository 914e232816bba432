"""A store filled by the simulator: a live chair, a disconnected chair, a chair never heard."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.device_state import DeviceState, LinkState
from vitals.engine import CLINICAL, Episode
from vitals.reading import Param, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands
from vitals.times import to_us


@pytest.fixture
def sample_store(db_path: Path, live_chair_1) -> Path:
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
    live_chair_1.start(db_path, to_us(now - timedelta(hours=1)))
    return db_path


class LiveRecorder:
    """A recorder that is running while the test runs: it beats, and chair 1's monitor
    delivers HR and SpO2 twice a second, so only chairs 2 and 3 are without current data."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, db: Path, started_us: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(db, started_us), daemon=True)
        self._thread.start()

    def _run(self, db: Path, started_us: int) -> None:
        writer = StoreWriter(db)
        while not self._stop.wait(0.5):
            now = utc_now()
            writer.beat(started_us, to_us(now))
            writer.write_readings(
                [
                    Reading(Param.HR, 88.0).stamped("chair-1", now, "ge-s5"),
                    Reading(Param.SPO2, 97.0).stamped("chair-1", now, "ge-s5"),
                ]
            )
        writer.close()

    def stop(self) -> None:
        """The recorder dies: no more beats, no more readings."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


@pytest.fixture
def live_chair_1() -> Iterator[LiveRecorder]:
    live = LiveRecorder()
    yield live
    live.stop()
