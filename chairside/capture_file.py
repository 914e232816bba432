"""The capture file: the raw bytes of a monitor's line, both directions, with receipt times.

A clinic with a monitor that speaks a new dialect records one with ``python -m chairside
capture`` and sends the file; ``replay`` decodes it anywhere, and it becomes a test. The
format is JSON Lines so that it survives being cut off (every complete line is a record),
can be read in any editor and needs no tool of ours to inspect:

    {"format": "chairside-capture", "version": 1, "protocol": "intellivue",
     "port": "/dev/ttyUSB0", "options": {"interval_s": 1},
     "started_utc": "2026-03-01T09:00:00.000000Z"}
    {"t": 0.000412, "dir": "out", "b64": "wBEBAOQN..."}
    {"t": 0.031877, "dir": "in", "b64": "wBEBAJYO..."}

The first line is the header; every other line is one read from (``in``) or one write to
(``out``) the port, ``t`` seconds after ``started_utc`` by the capturing machine's monotonic
clock, the bytes in base64. A file that does not start with the header (a capture made by
another tool, e.g. a raw serial log) is read as bytes received, without times.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from vitals.errors import ChairsideError, ConfigError

FORMAT, VERSION = "chairside-capture", 1
IN, OUT = "in", "out"


class CaptureError(ChairsideError):
    """A capture file that cannot be read as one."""


@dataclass(frozen=True)
class Header:
    protocol: str
    port: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    started: datetime | None = None  # None: a raw file, without receipt times


@dataclass(frozen=True)
class Record:
    t: float  # seconds after the header's start
    direction: str  # IN (from the device) or OUT (to it)
    data: bytes


class CaptureWriter:
    """Appends records as they happen; each line is flushed, so an interrupted capture keeps
    everything up to its last complete line."""

    def __init__(self, path: Path, header: Header) -> None:
        try:
            self._file: IO[str] = open(path, "w", encoding="ascii", buffering=1)  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot write the capture to {path}: {exc.strerror}") from None
        started = header.started or datetime.now(UTC)
        self._line(
            {
                "format": FORMAT,
                "version": VERSION,
                "protocol": header.protocol,
                "port": header.port,
                "options": dict(header.options),
                "started_utc": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        )

    def record(self, t: float, direction: str, data: bytes) -> None:
        if data:
            self._line({"t": round(t, 6), "dir": direction, "b64": _b64(data)})

    def close(self) -> None:
        self._file.close()

    def _line(self, item: dict) -> None:
        self._file.write(json.dumps(item, separators=(",", ":")) + "\n")


@dataclass(frozen=True)
class Capture:
    header: Header
    records: list[Record]
    cut_off: bool = False  # the last line was incomplete (the capture was interrupted)


def read_capture(path: Path) -> Capture:
    """A capture file, or a raw byte file read as one record received without a time."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read capture {path}: {exc.strerror}") from None
    first = raw.split(b"\n", 1)[0]
    if not _is_header(first):
        return Capture(Header(protocol=""), [Record(0.0, IN, raw)])
    lines = raw.decode("ascii", errors="replace").split("\n")
    cut_off = bool(lines[-1].strip())  # a complete file ends with a newline
    body = lines[1:-1]
    records = [_record(line, path, n) for n, line in enumerate(body, start=2) if line.strip()]
    return Capture(_header(lines[0], path), records, cut_off)


def _is_header(line: bytes) -> bool:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(item, dict) and item.get("format") == FORMAT


def _header(line: str, path: Path) -> Header:
    item = _json(line, path, 1)
    if item.get("version") != VERSION:
        raise CaptureError(f"{path}: capture version {item.get('version')!r}, expected {VERSION}")
    try:
        started = datetime.fromisoformat(item["started_utc"].replace("Z", "+00:00"))
        return Header(item["protocol"], item.get("port", ""), item.get("options", {}), started)
    except (KeyError, AttributeError, ValueError) as exc:
        raise CaptureError(f"{path}, line 1: the header lacks or garbles {exc}") from None


def _record(line: str, path: Path, number: int) -> Record:
    item = _json(line, path, number)
    try:
        direction = item["dir"]
        if direction not in (IN, OUT):
            raise ValueError(f"direction {direction!r}")
        return Record(float(item["t"]), direction, base64.b64decode(item["b64"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise CaptureError(f"{path}, line {number}: not a record ({exc})") from None


def _json(line: str, path: Path, number: int) -> dict:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaptureError(f"{path}, line {number}: not JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise CaptureError(f"{path}, line {number}: not a JSON object")
    return item


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
