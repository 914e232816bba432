"""What every device adapter provides, so the recorder can drive any protocol the same way."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from vitals.reading import Param, Reading


@dataclass(frozen=True)
class SerialSettings:
    """Line settings a monitor's port needs; ignored by network URLs such as ``socket://``."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False

    def describe(self) -> str:
        flow = ", RTS/CTS" if self.rtscts else ""
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits:g}{flow}"


# Distinct kinds of unused data kept per device: a sender inventing a new code in every
# message must not grow the device state without bound; the rest is counted together.
MAX_UNUSED_KINDS = 48
OTHER_KINDS = "other kinds (too many to list)"


@dataclass
class AdapterCounts:
    """Frame counters shown in the device state; errors are counted, never raised.

    ``unused`` counts, by kind, what arrived intact but was not turned into a reading (an
    OBX code Chairside does not record, an alarm message, a waveform record, a frame outside
    an association): nothing a device sends is discarded without a trace.
    """

    frames_ok: int = 0
    frames_bad: int = 0
    last_error: str = ""
    unused: dict[str, int] = field(default_factory=dict)

    def not_used(self, kind: str, count: int = 1) -> None:
        if kind not in self.unused and len(self.unused) >= MAX_UNUSED_KINDS:
            kind = OTHER_KINDS
        self.unused[kind] = self.unused.get(kind, 0) + count


class DeviceAdapter(abc.ABC):
    """Client side of one wire protocol for one connection to one monitor.

    ``feed`` accepts chunks of any size and never raises on bad input: corrupt frames are
    counted in ``counts`` with a message naming what was wrong, and intact data that yields
    no reading is counted by kind in ``counts.unused``. Adapters read time only through
    ``clock`` (monotonic seconds), so a replay can run one on a capture's own time.
    """

    protocol: ClassVar[str]
    serial: ClassVar[SerialSettings]
    # A protocol that acknowledges each message answers only once the recorder knows whether
    # its readings are committed (``settle``): an acknowledgment means "stored".
    acks_on_commit: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.counts = AdapterCounts()
        self.clock: Callable[[], float] = time.monotonic
        self.outbox = bytearray()  # replies the protocol owes the device (e.g. HL7 ACKs)
        # Why the protocol's session is down while the port is open ("" when it is not):
        # the recorder shows it as the device's state instead of a bare "no data".
        self.link_problem = ""

    def take_output(self) -> bytes:
        """Bytes ``feed`` queued for the device; the worker writes them after each chunk."""
        out, self.outbox = bytes(self.outbox), bytearray()
        return out

    @abc.abstractmethod
    def on_connect(self) -> bytes:
        """Bytes to send right after the port opens (a data request, an association, ...)."""

    @abc.abstractmethod
    def feed(self, chunk: bytes) -> list[Reading]:
        """Decode what arrived; returns the readings of every frame completed by ``chunk``."""

    def due(self, now: float) -> bytes:
        """Bytes owed to the device by ``now`` (monotonic seconds): polls, keep-alives.

        Streaming monitors owe nothing; a polled protocol answers here between chunks.
        """
        return b""

    def on_silence(self) -> bytes:
        """Bytes to send when the monitor has been quiet too long; by default repeat the request."""
        return self.on_connect()

    def prime(self, last_values: Mapping[str, float | None]) -> None:
        """Learn the last stored values, for protocols that repeat a measurement in every frame."""
        return None  # most protocols send each measurement once and need nothing

    def settle(self, stored: bool) -> None:
        """The readings of every message since the last call are committed (``stored``) or
        refused by the store; a protocol with ``acks_on_commit`` answers its sender now."""
        return None

    def bad_frame(self, message: str) -> None:
        self.counts.frames_bad += 1
        self.counts.last_error = message

    def not_used(self, kind: str, count: int = 1) -> None:
        """Count data that arrived intact but gives no reading; ``kind`` names it for a
        person ("OBX 150344 MDC_TEMP", "alarm record") and must not contain values."""
        self.counts.not_used(kind, count)


class MonitorSide(Protocol):
    """The monitor's end of a protocol, for simulators: answers requests, encodes values.

    A streaming monitor sends a frame every ``interval_s`` once asked; a ``polled`` one sends
    one frame for each request ``feed`` reports. ``take_replies`` hands out what the
    protocol answers by itself (association results and the like).
    """

    protocol: ClassVar[str]
    polled: ClassVar[bool]
    interval_s: int | None  # seconds between frames once streaming; None while silent

    def take_replies(self) -> bytes: ...

    def chair_options(self, interval_s: int) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def feed(self, chunk: bytes) -> bool: ...

    def encode(
        self, time_s: int, values: Mapping[Param, float | None], artifact: str = ""
    ) -> tuple[bytes, dict]: ...


class StreamingMonitor:
    """What a monitor that streams on its own has in common: no polls, no replies owed."""

    polled: ClassVar[bool] = False

    def take_replies(self) -> bytes:
        return b""
