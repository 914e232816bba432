"""What the recorder knows about the link to each chair's monitor.

The dashboard shows this instead of guessing from data age, so a nurse can tell "patient
stable" from "cable unplugged".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class LinkState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NO_DATA = "no data"
    DISCONNECTED = "disconnected"
    FAILED = "acquisition failed"  # the worker met an unexpected error and restarts
    STOPPED = "stopped"


@dataclass(frozen=True)
class DeviceState:
    chair: str
    state: LinkState
    since: datetime
    frames_ok: int = 0
    frames_bad: int = 0
    reconnects: int = 0
    last_error: str = ""
    last_data: datetime | None = None
    device: str = ""  # which of the chair's devices; "" for a chair's only monitor
    # What arrived intact but gave no reading, counted by kind ("OBX 150344 MDC_TEMP": 12):
    # the chair detail lists it, so a new vendor dialect is seen, not silently dropped.
    unused: dict[str, int] = field(default_factory=dict)
    failures: int = 0  # unexpected errors the worker survived by restarting
    dropouts: int = 0  # outages shorter than the chair's debounce: counted, not alarmed
