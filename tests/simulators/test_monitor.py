"""Simulated monitors on real pseudo-terminals and on socket:// ports."""

import csv
import os
from collections import Counter

from devices.ge_s5 import GeS5Adapter
from devices.ports import open_port
from simulators.fleet import Fleet, FleetSpec
from tests.conftest import wait_for


def collect(url: str, seconds_of_frames: int) -> tuple[GeS5Adapter, list]:
    adapter = GeS5Adapter()
    port = open_port(url, adapter.serial, timeout=0.1)
    readings: list = []
    try:
        port.write(adapter.on_connect())
        wait_for(
            lambda: (
                readings.extend(adapter.feed(port.read(4096)))
                or adapter.counts.frames_ok >= seconds_of_frames
            ),
            what="frames",
        )
    finally:
        port.close()
    return adapter, readings


def test_monitor_is_silent_until_requested_then_streams_on_a_pty(start_fleet) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    port = open_port(fleet.chairs[0].port, GeS5Adapter.serial, timeout=0.5)
    assert port.read(4096) == b""  # no request, no data: as the real interface
    port.close()
    adapter, readings = collect(fleet.chairs[0].port, 5)
    assert adapter.counts.frames_bad == 0 and readings


def test_socket_transport(tmp_path) -> None:
    fleet = Fleet(FleetSpec(1, ["typical"], speed=60, transport="socket", run_dir=tmp_path))
    fleet.start()
    try:
        assert fleet.chairs[0].port.startswith("socket://127.0.0.1:")
        adapter, readings = collect(fleet.chairs[0].port, 3)
        assert readings and adapter.counts.frames_bad == 0
    finally:
        fleet.stop()


def test_truth_log_records_what_was_sent(start_fleet, tmp_path) -> None:
    truth = tmp_path / "truth.csv"
    fleet = start_fleet(chairs=1, speed=60, truth=truth)
    _, readings = collect(fleet.chairs[0].port, 4)
    fleet.stop()
    rows = list(csv.DictReader(truth.open()))
    assert list(rows[0]) == ["chair", "param", "value", "sent_utc"]
    assert rows[0]["sent_utc"].endswith("Z") and "T" in rows[0]["sent_utc"]
    decoded = [(r.param.value, "" if r.value is None else f"{r.value:g}") for r in readings]
    sent = [(r["param"], r["value"]) for r in rows]
    assert Counter(decoded) <= Counter(sent)  # the monitor went on after we stopped reading
    assert len(sent) - len(decoded) < 12


def test_unplugged_port_vanishes_and_returns(start_fleet) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    monitor, path = fleet.monitors[0], fleet.chairs[0].port
    monitor.unplug()
    wait_for(lambda: not os.path.exists(path), what="the port to vanish")
    monitor.replug()
    wait_for(lambda: os.path.exists(path), what="the port to return")
    assert collect(path, 2)[1]


def test_staggered_monitors_each_send_at_their_own_moment(tmp_path) -> None:
    """Monitors switched on at different times do not send in step: with --stagger each
    chair's records fall at its own moment of the interval, the same each run (seeded)."""

    def phases(stagger: bool) -> list[float]:
        spec = FleetSpec(8, ["typical"], interval_s=5, run_dir=tmp_path, stagger=stagger)
        fleet = Fleet(spec)
        try:
            return [monitor.phase_s for monitor in fleet.monitors]
        finally:
            for monitor in fleet.monitors:
                monitor.link.close()

    assert phases(stagger=False) == [0.0] * 8  # the default: all together, the worst burst
    staggered = phases(stagger=True)
    assert staggered == phases(stagger=True)
    assert len(set(staggered)) == 8 and all(0 <= p < 5 for p in staggered)
    assert max(staggered) - min(staggered) > 2.5  # spread over the interval, not bunched
