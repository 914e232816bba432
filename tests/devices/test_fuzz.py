"""A short run of bench/fuzz_devices.py per protocol: damaged frames never raise."""

import pytest

from bench.fuzz_devices import fuzz
from devices.registry import protocols


@pytest.mark.parametrize("protocol", protocols())
def test_thousands_of_damaged_frames_raise_nothing(protocol: str, capsys) -> None:
    assert fuzz(protocol, 3000, seed=7)
    assert "0 exceptions" in capsys.readouterr().out
