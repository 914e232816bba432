import os

import pytest

from devices.ge_s5 import GeS5Adapter, display_record, encode_frame
from devices.ports import open_port
from devices.registry import new_adapter, new_monitor, protocols
from vitals.errors import ConfigError, PortUnavailable, UnknownProtocol
from vitals.reading import Param


def test_registry_knows_ge_s5_and_names_the_known_ones_on_error() -> None:
    assert "ge-s5" in protocols()
    assert isinstance(new_adapter("ge-s5"), GeS5Adapter)
    with pytest.raises(UnknownProtocol, match=r"unknown protocol 'philips'; known: ge-s5"):
        new_adapter("philips")
    with pytest.raises(UnknownProtocol):
        new_monitor("philips")


def test_bad_protocol_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="interval_s must be"):
        new_adapter("ge-s5", {"interval_s": 0})
    with pytest.raises(ConfigError, match="unknown options"):
        new_adapter("ge-s5", {"baud": 9600})


def test_loop_url_carries_a_frame_through_pyserial() -> None:
    port = open_port("loop://", GeS5Adapter.serial)
    try:
        port.write(encode_frame(display_record(1, 0, {Param.HR: 64})))
        adapter = GeS5Adapter()
        readings = adapter.feed(port.read(4096))
        assert [r.value for r in readings if r.param is Param.HR] == [64.0]
    finally:
        port.close()


def test_missing_port_is_port_unavailable_naming_the_url() -> None:
    with pytest.raises(PortUnavailable, match="/dev/ttyCHAIRSIDE-none"):
        open_port("/dev/ttyCHAIRSIDE-none", GeS5Adapter.serial)
    with pytest.raises(PortUnavailable, match=r"socket://127\.0\.0\.1:1"):
        open_port("socket://127.0.0.1:1", GeS5Adapter.serial)


@pytest.mark.hardware
@pytest.mark.skipif(
    "CHAIRSIDE_TEST_PORT" not in os.environ, reason="set CHAIRSIDE_TEST_PORT to test a real monitor"
)
def test_real_monitor_answers_the_request() -> None:
    adapter = new_adapter(os.environ.get("CHAIRSIDE_TEST_PROTOCOL", "ge-s5"))
    port = open_port(os.environ["CHAIRSIDE_TEST_PORT"], adapter.serial, timeout=15)
    try:
        port.write(adapter.on_connect())
        readings = adapter.feed(port.read(4096))
        assert adapter.counts.frames_ok >= 1, adapter.counts.last_error
        assert readings
    finally:
        port.close()
