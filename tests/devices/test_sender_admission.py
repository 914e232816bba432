"""Senders are admitted, not assumed: who may connect to a listen:// chair, for how long, and
how much one message may carry. Real sockets on loopback."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from devices.base import AdapterCounts
from devices.hl7_mllp import Hl7MllpAdapter, frame
from devices.listen import BUSY, NOT_ALLOWED, ListeningPort
from vitals.errors import ConfigError, PortUnavailable

ORU = (
    "MSH|^~\\&|GW|ICU|CHAIRSIDE|CLINIC|20260301090000+0000||ORU^R01|M{n}|P|2.5\r"
    "OBX|1|NM|8867-4^HR^LN||{hr}|/min|||||F|||20260301090{n:03d}+0000\r"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chair:
    """A listening port read by a thread, as the recorder's worker reads it."""

    def __init__(self, query: str = "") -> None:
        self.address = ("127.0.0.1", free_port())
        self.counts = AdapterCounts()
        self.port = ListeningPort(f"listen://127.0.0.1:{self.address[1]}{query}", 0.02, self.counts)
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.received += self.port.read(4096)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.port.close()


@pytest.fixture
def chair() -> Iterator[Chair]:
    started = Chair()
    yield started
    started.stop()


def connect(address: tuple[str, int], source: str = "127.0.0.1") -> socket.socket:
    sender = socket.socket()
    sender.bind((source, 0))
    sender.connect(address)
    return sender


def closed_by_peer(sender: socket.socket) -> bool:
    sender.settimeout(2)
    try:
        return sender.recv(1) == b""
    except ConnectionResetError:
        return True


def wait_until(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_current_sender_keeps_the_chair_while_another_keeps_connecting(chair: Chair) -> None:
    """The report's attack: a client connecting every 0.2 s cut a real sender off."""
    real = connect(chair.address)
    messages = [frame(ORU.format(n=n, hr=60 + n)) for n in range(50)]
    intruders = 0
    for message in messages:
        real.sendall(message)
        if intruders < 10:
            intruder = connect(chair.address)
            assert closed_by_peer(intruder)
            intruder.close()
            intruders += 1
    wait_until(lambda: len(chair.received) == sum(map(len, messages)))
    assert bytes(chair.received) == b"".join(messages)
    assert chair.counts.unused == {BUSY: 10}
    real.close()


def test_a_silent_sender_gives_the_chair_up_after_idle_s() -> None:
    chair = Chair("?idle_s=0.3")
    try:
        quiet = connect(chair.address)
        time.sleep(0.5)
        replacing = connect(chair.address)
        replacing.sendall(b"hello")
        wait_until(lambda: bytes(chair.received) == b"hello")
        assert closed_by_peer(quiet) and chair.counts.unused == {}
        replacing.close()
    finally:
        chair.stop()


def test_only_senders_on_the_allow_list_are_admitted(caplog: pytest.LogCaptureFixture) -> None:
    chair = Chair("?allow=127.0.0.2/32")
    try:
        stranger = connect(chair.address, source="127.0.0.1")
        assert closed_by_peer(stranger)
        admitted = connect(chair.address, source="127.0.0.2")
        admitted.sendall(b"ORU")
        wait_until(lambda: bytes(chair.received) == b"ORU")
        assert chair.counts.unused == {NOT_ALLOWED: 1}
        assert f"{NOT_ALLOWED} (127.0.0.1)" in caplog.text
        admitted.close()
    finally:
        chair.stop()


def test_by_default_only_this_machine_may_send() -> None:
    port = ListeningPort(f"listen://127.0.0.1:{free_port()}", 0.02)
    try:
        assert port._refusal("127.0.0.1") == "" and port._refusal("::1") == ""
        assert port._refusal("10.0.0.5") == NOT_ALLOWED
        assert port._refusal("::ffff:10.0.0.5") == NOT_ALLOWED
    finally:
        port.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("?allow=10.0.0.300", "bad allow list"), ("?idle_s=0", "idle_s"), ("?x=1", "unknown")],
)
def test_bad_listen_options_name_the_url(query: str, expected: str) -> None:
    with pytest.raises(PortUnavailable, match=expected):
        ListeningPort(f"listen://127.0.0.1:{free_port()}{query}", 0.02)


def oru(segments: int, n: int = 1) -> bytes:
    obx = "".join(
        f"OBX|{i}|NM|8867-4^HR^LN||{60 + i % 40}|/min|||||F\r" for i in range(1, segments + 1)
    )
    return frame(
        f"MSH|^~\\&|GW|ICU|CS|CL|2026030109{n // 60:02d}{n % 60:02d}+0000||ORU^R01|M{n}|P|2.5\r"
        + obx
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def adapter(**options) -> tuple[Hl7MllpAdapter, Clock]:
    made, clock = Hl7MllpAdapter(options), Clock()
    made.clock = clock
    return made, clock


def test_a_message_of_15000_segments_is_refused_whole_and_the_sender_told() -> None:
    hl7, _ = adapter()
    assert hl7.feed(oru(15_000)) == []
    assert b"MSA|AR|M1" in hl7.take_output()
    assert hl7.counts.unused == {"message refused: over 65536 bytes": 1}
    assert hl7.feed(oru(201, 2)) == [] and b"MSA|AR|M2" in hl7.take_output()
    assert hl7.counts.unused["message refused: over 200 OBX segments"] == 1
    assert hl7.feed(oru(6, 3))
    hl7.settle(True)  # the recorder committed its readings: now, and only now, AA
    assert b"MSA|AA|M3" in hl7.take_output()


def test_readings_per_second_are_limited_with_a_burst_for_catching_up() -> None:
    hl7, clock = adapter(max_readings_per_s=2)
    stored = sum(len(hl7.feed(oru(1, n))) for n in range(30))  # 30 at once
    assert stored == 20  # ten seconds' worth
    assert hl7.counts.unused == {"message refused: over 2 readings a second": 10}
    clock.now += 1.0
    assert [len(hl7.feed(oru(1, n))) for n in range(40, 43)] == [1, 1, 0]


def test_limit_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="max_segments must be a positive number"):
        Hl7MllpAdapter({"max_segments": 0})
    assert Hl7MllpAdapter({"max_segments": 5}).limits.max_segments == 5


def test_a_sender_that_hangs_up_and_connects_again_at_once_is_admitted() -> None:
    """A gateway closes straight after a message and reconnects within a millisecond: its
    message, the hang-up and the new connection wait together. Reading the hang-up before
    judging the newcomer admits it; before, it was refused as "another sender"."""
    port = ListeningPort(f"listen://127.0.0.1:{free_port()}", 0.05)
    address = ("127.0.0.1", int(port.url.rsplit(":", 1)[1]))
    try:
        first = connect(address)
        time.sleep(0.05)
        assert port.read(4096) == b""  # the round that admits the first sender
        one, two = frame(ORU.format(n=1, hr=61)), frame(ORU.format(n=2, hr=62))
        first.sendall(one)
        first.close()
        again = connect(address)
        again.sendall(two)
        time.sleep(0.1)  # all of it waits on the machine before the recorder reads
        received = b""
        deadline = time.monotonic() + 5
        while received != one + two and time.monotonic() < deadline:
            received += port.read(4096)
        assert received == one + two
        assert port.counts.unused == {}
        again.close()
    finally:
        port.close()
