"""The real S/5 capture from ../shared/vectors (no patient connected: every value is no data)."""

from itertools import pairwise
from pathlib import Path

import pytest

from devices.ge_s5 import GeS5Adapter
from tests.conftest import SHARED_VECTORS
from vitals.reading import Param, Quality

CAPTURE = SHARED_VECTORS / "ge-s5-dri" / "s5-raw-capture.bin"


@pytest.fixture
def capture() -> bytes:
    if not CAPTURE.exists():
        pytest.skip(f"real capture not present at {CAPTURE} (shared/ vectors are not checked out)")
    return Path(CAPTURE).read_bytes()


def test_every_frame_of_the_real_capture_decodes_with_a_correct_checksum(capture: bytes) -> None:
    adapter = GeS5Adapter()
    readings = adapter.feed(capture)
    assert adapter.counts.frames_ok == 21
    assert adapter.counts.frames_bad == 0
    # 21 records x (HR, SpO2, pulse), and the NIBP "no data" triple once
    assert len(readings) == 21 * 3 + 3
    assert all(r.value is None and r.quality is Quality.INVALID for r in readings)
    assert {r.param for r in readings} == set(Param)


def test_capture_device_times_are_5_s_apart_on_2022_12_19(capture: bytes) -> None:
    times = sorted({r.device_time for r in GeS5Adapter().feed(capture)})
    assert times[0].date().isoformat() == "2022-12-19"
    assert {(b - a).total_seconds() for a, b in pairwise(times)} == {5.0}


def test_capture_split_byte_by_byte_gives_the_same_readings(capture: bytes) -> None:
    whole = GeS5Adapter().feed(capture)
    adapter = GeS5Adapter()
    pieces = [r for i in range(len(capture)) for r in adapter.feed(capture[i : i + 1])]
    assert pieces == whole
