"""An HL7 sender that connects to the recorder (listen://), as many gateways do."""

import socket
from pathlib import Path

from devices.hl7_mllp import frame
from tests.conftest import query, wait_for
from tests.service.conftest import connect, free_port
from vitals.chairs import Chair

ORU = (
    "MSH|^~\\&|GW|ICU|CHAIRSIDE|CLINIC|20260301090000+0000||ORU^R01|M{n}|P|2.5\r"
    "OBX|1|NM|8867-4^HR^LN||{hr}|/min|||||F|||2026030109000{n}+0000\r"
)


def send(port: int, n: int, hr: int) -> bytes:
    with connect(port) as sender:
        sender.sendall(frame(ORU.format(n=n, hr=hr)))
        return sender.recv(4096)


def test_sender_connects_gets_acks_and_readings_are_stored(run_recorder, db_path: Path) -> None:
    port = free_port()
    run_recorder([Chair("gw", "Gateway chair", f"listen://127.0.0.1:{port}", "hl7-mllp")])
    first = send(port, 1, 71)
    assert b"MSA|AA|M1" in first
    second = send(port, 2, 73)  # a new connection: the recorder goes on listening
    assert b"MSA|AA|M2" in second
    wait_for(lambda: len(query(db_path, "SELECT value FROM readings")) == 2, what="both readings")
    assert query(db_path, "SELECT param, value, source FROM readings_full ORDER BY t_us") == [
        ("hr", 71.0, "hl7-mllp"),
        ("hr", 73.0, "hl7-mllp"),
    ]


def test_a_port_already_taken_is_a_device_state(run_recorder, db_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run_recorder([Chair("gw", "Gateway chair", f"listen://127.0.0.1:{port}", "hl7-mllp")])
        wait_for(
            lambda: query(db_path, "SELECT 1 FROM device_state WHERE state = 'disconnected'"),
            what="a disconnected state naming the port",
        )
    [(error,)] = query(db_path, "SELECT last_error FROM device_state")
    assert f"listen://127.0.0.1:{port}" in error
