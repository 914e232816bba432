"""The recorder in-process against simulated monitors on real ptys."""

import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from chairside.recorder import Recorder
from devices.hl7_mllp import frame
from tests.conftest import query, wait_for
from vitals.chairs import Chair
from vitals.errors import UnknownProtocol
from vitals.reading import utc_now


def state_of(db: Path, chair: str) -> tuple:
    rows = query(
        db, "SELECT state, reconnects, last_error FROM device_state WHERE chair = ?", (chair,)
    )
    return rows[0] if rows else (None, 0, "")


def count(db: Path) -> int:
    return query(db, "SELECT count(*) FROM readings")[0][0]


def test_unplug_shows_disconnected_then_readings_resume(start_fleet, run_recorder, db_path) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    run_recorder(fleet.chairs)
    wait_for(lambda: count(db_path) > 10, what="first readings")
    fleet.monitors[0].unplug()
    wait_for(lambda: state_of(db_path, "chair-1")[0] == "disconnected", what="disconnected state")
    assert "chair-1.tty" in state_of(db_path, "chair-1")[2]  # the message names the port
    before = count(db_path)
    fleet.monitors[0].replug()
    wait_for(lambda: count(db_path) > before + 10, what="readings after replug")
    state, reconnects, _ = state_of(db_path, "chair-1")
    assert state == "connected" and reconnects >= 1


def test_missing_port_never_stops_the_other_chairs(start_fleet, run_recorder, db_path) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    ghost = Chair("ghost", "Ghost", str(db_path.parent / "no-such-tty"), "ge-s5")
    run_recorder([*fleet.chairs, ghost])
    wait_for(lambda: count(db_path) > 10, what="readings from the live chair")
    state, _, error = state_of(db_path, "ghost")
    assert state == "disconnected" and "no-such-tty" in error


def test_silent_line_becomes_no_data(start_fleet, run_recorder, db_path) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    run_recorder(fleet.chairs)
    wait_for(lambda: count(db_path) > 5, what="first readings")
    fleet.monitors[0].unplug(vanish=False)  # the port stays, the line goes silent
    wait_for(lambda: state_of(db_path, "chair-1")[0] == "no data", what="no data state")
    assert "no data for" in state_of(db_path, "chair-1")[2]
    before = count(db_path)
    fleet.monitors[0].replug()
    wait_for(lambda: count(db_path) > before + 10, what="readings after the line returns")
    assert state_of(db_path, "chair-1")[0] == "connected"


def test_a_silent_monitor_still_reads_no_data_after_its_port_is_opened_again(
    start_fleet, run_recorder, db_path
) -> None:
    """A nurse's view of a monitor that went quiet: the recorder reopens its port, which
    proves nothing about the monitor, so the chair keeps saying "no data" (never
    "connected") until readings come again."""
    fleet = start_fleet(chairs=1, speed=60)
    run_recorder([replace(fleet.chairs[0], no_data_after_s=1.0)])
    wait_for(lambda: count(db_path) > 5, what="first readings")
    fleet.monitors[0].unplug(vanish=False)  # the port stays, the line goes silent
    wait_for(lambda: state_of(db_path, "chair-1")[1] >= 1, what="the port opened again")
    for _ in range(10):  # through the second after the reopen, as the dashboard polls
        assert state_of(db_path, "chair-1")[0] == "no data"
        time.sleep(0.1)
    before = count(db_path)
    fleet.monitors[0].replug()
    wait_for(lambda: count(db_path) > before + 10, what="readings after the line returns")
    wait_for(lambda: state_of(db_path, "chair-1")[0] == "connected", what="connected again")


def test_implausible_values_are_stored_invalid_not_dropped(
    start_fleet, run_recorder, db_path
) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    fleet.monitors[0].model._artifact_left = 10_000  # hold a lead-off artifact: HR 0
    fleet.monitors[0].model._artifact_kind = "lead-off"
    run_recorder(fleet.chairs)
    wait_for(
        lambda: (
            query(db_path, "SELECT count(*) FROM readings_full WHERE param='hr' AND value=0")[0][0]
            > 3
        ),
        what="HR 0 rows",
    )
    assert query(
        db_path, "SELECT DISTINCT quality FROM readings_full WHERE param='hr' AND value=0"
    ) == [("invalid",)]


def test_unknown_protocol_fails_before_any_port_is_opened(db_path) -> None:
    with pytest.raises(UnknownProtocol, match="'philips'"):
        Recorder([Chair("a", "A", "loop://", "philips")], db_path)


def test_heartbeat_and_clean_stop(start_fleet, run_recorder, db_path) -> None:
    fleet = start_fleet(chairs=1, speed=60)
    recorder = run_recorder(fleet.chairs)
    wait_for(
        lambda: query(
            db_path, "SELECT beat_us - started_us FROM heartbeat WHERE beat_us > started_us"
        ),
        what="a heartbeat",
    )
    recorder.stop()
    wait_for(
        lambda: query(db_path, "SELECT stopped_us FROM heartbeat WHERE stopped_us IS NOT NULL"),
        what="stopped heartbeat",
    )
    assert state_of(db_path, "chair-1")[0] == "stopped"


def test_a_device_sending_only_garbage_is_shown_as_no_data(run_recorder, db_path, tmp_path) -> None:
    import os
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            os.write(master, b"\x7e\x01\x02\x03\x7e" + os.urandom(40))  # bad checksums, noise
            stop.wait(0.05)

    threading.Thread(target=babble, daemon=True).start()
    try:
        run_recorder([Chair("noisy", "Noisy", os.ttyname(slave), "ge-s5", no_data_after_s=0.5)])
        wait_for(lambda: state_of(db_path, "noisy")[0] == "no data", what="a no-data state")
        assert "only bad frames" in state_of(db_path, "noisy")[2]
        wait_for(
            lambda: query(db_path, "SELECT frames_bad FROM device_state")[0][0] > 10,
            what="bad frames counted",
        )
        assert query(db_path, "SELECT count(*) FROM readings") == [(0,)]
    finally:
        stop.set()


@pytest.mark.parametrize("how", ["abort", "release"])
def test_a_monitor_dropping_the_association_is_shown_and_reassociated(
    start_fleet, run_recorder, db_path, how: str
) -> None:
    fleet = start_fleet(chairs=1, speed=60, protocol="intellivue")
    run_recorder([replace(fleet.chairs[0], dropout_debounce_s=0)])  # every drop-out alarms
    wait_for(lambda: count(db_path) > 10, what="first readings")
    monitor = fleet.monitors[0]
    monitor.call_soon(lambda: monitor.encoder.drop_association(how))
    ended = "aborted" if how == "abort" else "released"
    wait_for(
        lambda: state_of(db_path, "chair-1")[2] == f"association {ended} by the monitor",
        what="the dropped association in the device state",
    )
    technical = query(db_path, "SELECT rule, reason FROM episodes WHERE kind = 'technical'")
    assert ("no-data", f"Chair 1 (typical): association {ended} by the monitor") in technical
    before = count(db_path)
    wait_for(lambda: count(db_path) > before + 10, what="readings after re-association")
    wait_for(lambda: state_of(db_path, "chair-1")[0] == "connected", what="connected again")


def test_what_a_monitor_sends_but_gives_no_reading_reaches_the_device_state(
    run_recorder, db_path
) -> None:
    """A Mindray-style HL7 sender: the cuff NIBP is stored, the temperature is counted."""
    import json
    import os
    import tty

    from devices.hl7_mllp import frame

    master, slave = os.openpty()
    tty.setraw(slave)
    message = (
        "MSH|^~\\&|MINDRAY_VS900^00A0370098007A80^EUI-64||||20260301090000+0100||ORU^R01^ORU_R01|1|P|2.6\r"
        "OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|147|266016^MDC_DIM_MMHG^MDC|||||R\r"
        "OBX|2|NM|150344^MDC_TEMP^MDC|1.2.1.150344|36.6|268192^MDC_DIM_DEGC^MDC|||||R\r"
    )
    run_recorder([Chair("vs900", "VS900", os.ttyname(slave), "hl7-mllp")])
    wait_for(lambda: state_of(db_path, "vs900")[0] == "connected", what="the port opened")
    os.write(master, frame(message))  # after the open, which flushes what came before

    def unused() -> dict:
        rows = query(db_path, "SELECT unused_json FROM device_state WHERE chair = 'vs900'")
        return json.loads(rows[0][0]) if rows else {}

    wait_for(lambda: unused() == {"OBX 150344 MDC_TEMP": 1}, what="the unused kind published")
    assert query(db_path, "SELECT param, value FROM readings_full") == [("sbp", 147.0)]


def test_the_message_a_sender_sends_just_before_hanging_up_is_stored(run_recorder, db_path) -> None:
    """A serial-to-network server that passes on a gateway's last message and closes: the
    message and the hang-up arrive together, and the message must still be stored (it was
    dropped with the read that met the hang-up, about one run in six of the HL7 end-to-end
    test)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    observed = utc_now().strftime("%Y%m%d%H%M%S+0000")
    messages = b"".join(
        frame(
            f"MSH|^~\\&|GW|ICU|CS|CLINIC|{observed}||ORU^R01|M{n}|P|2.5\r"
            f"OBX|1|NM|8867-4^HR^LN||{70 + n}|/min|||||F|||{observed}\r"
        )
        for n in range(3)
    )

    def serve_once() -> None:
        client, _ = server.accept()
        client.sendall(messages)
        client.close()  # the hang-up follows the last message at once

    threading.Thread(target=serve_once, daemon=True).start()
    try:
        run_recorder([Chair("gw", "Gateway", f"socket://127.0.0.1:{port}", "hl7-mllp")])
        wait_for(lambda: count(db_path) >= 3, what="the three messages stored")
        values = query(db_path, "SELECT value FROM readings_full ORDER BY value")
        assert values == [(70.0,), (71.0,), (72.0,)]
    finally:
        server.close()
