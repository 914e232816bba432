"""``python -m chairside capture`` and ``replay``: a monitor's line recorded in the field and
decoded anywhere, by the same adapters the recorder runs.

``capture`` opens the port as the recorder would, drives the monitor with the protocol's
own adapter (the S/5 data request, the IntelliVue association and polls, HL7 ACKs) and
writes every byte read and written, with its receipt time, to a capture file
(chairside/capture_file.py), while printing what it decodes. ``replay`` feeds a capture's
received bytes to a fresh adapter on the capture's own clock, split as recorded, in fixed
or in random chunks, prints the readings, what was received but not used and the bad
frames, and with ``--db`` and ``--chair`` stores the readings as the recorder would have
(plausibility judged; a reading already stored is skipped, so replaying twice stores once).
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import serial

from chairside.capture_file import (
    IN,
    OUT,
    Capture,
    CaptureWriter,
    Header,
    Record,
    read_capture,
)
from devices.base import DeviceAdapter
from devices.hl7_mllp import START, frame_text
from devices.ports import open_port
from devices.registry import new_adapter, protocols
from vitals.errors import ConfigError, PortUnavailable
from vitals.exchange.csv_io import import_readings
from vitals.plausibility import assess
from vitals.reading import Reading, utc_now
from vitals.store import StoreWriter
from vitals.store.location import db_argument

SILENCE_S = 15.0  # as a chair's default no_data_after_s: then ask the monitor again
RANDOM_CHUNK = 512
MAX_LISTED = 12  # distinct bad-frame reasons printed
NUMBERS = re.compile(r"0x[0-9A-Fa-f]+|-?\d+")  # reasons are grouped without their numbers
Say = Callable[[str], None]


def add_capture_parsers(commands: argparse._SubParsersAction) -> None:
    capture = commands.add_parser(
        "capture",
        help="record a monitor's raw bytes (both directions, with times) to send for analysis",
        description="Open the port as the recorder would, drive the monitor with the "
        "protocol's adapter, write every byte read and written with its receipt time to "
        "--out, and print the readings decoded, until --seconds pass or Ctrl-C.",
    )
    capture.add_argument("--port", required=True, help="any pyserial URL, or listen://host:port")
    capture.add_argument("--protocol", required=True, help=f"one of {', '.join(protocols())}")
    capture.add_argument("--out", type=Path, required=True, help="capture file to write")
    capture.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    _option_argument(capture)
    capture.set_defaults(run=run_capture)

    replay = commands.add_parser(
        "replay",
        help="decode a capture: readings, what was not used, bad frames; optionally store them",
        description="Feed a capture file (or a raw byte file) to the protocol's adapter and "
        "print what it decodes; with --db and --chair, store the readings for that chair.",
    )
    replay.add_argument("file", type=Path, help="a capture file, or raw bytes from a monitor")
    replay.add_argument("--protocol", required=True, help=f"one of {', '.join(protocols())}")
    replay.add_argument(
        "--db", type=db_argument, help="store the readings in this database (file or URL)"
    )
    replay.add_argument("--chair", help="the chair the readings belong to (with --db)")
    replay.add_argument(
        "--chunk",
        default="recorded",
        help="how to split the bytes: 'recorded' (as read), a byte count, or 'random[:SEED]'",
    )
    replay.add_argument("--quiet", action="store_true", help="print only the summary")
    _option_argument(replay)
    replay.set_defaults(run=run_replay)


def _option_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a protocol option as in the chair config, e.g. dialect=mindray or interval_s=1",
    )


def run_capture(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with _stopped_by_signals(stop):
        tally = capture(
            args.port, args.protocol, args.out, args.seconds, _options(args.option), _say, stop
        )
    tally.summary(f"capture written to {args.out}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    if (args.db is None) != (args.chair is None):
        raise ConfigError("storing a replay needs both --db PATH and --chair C")
    found = read_capture(args.file)
    if args.db is not None and found.header.started is None:
        raise ConfigError(
            f"{args.file} is raw bytes without receipt times: only a file made by "
            "`python -m chairside capture` can be stored"
        )
    if found.header.protocol and found.header.protocol != args.protocol:
        raise ConfigError(
            f"{args.file} was captured with protocol {found.header.protocol!r}; "
            f"replay it with --protocol {found.header.protocol}"
        )
    if args.protocol == "hl7-mllp" and _plain_hl7(found):
        _say("plain HL7 text: each message is framed as MLLP would carry it")
        found = Capture(found.header, [Record(0.0, IN, frame_text(found.records[0].data))])
    options = dict(found.header.options) | _options(args.option)
    say = (lambda line: None) if args.quiet else _say
    tally, readings = replay(found, args.protocol, options, args.chunk, say)
    if found.cut_off:
        _say("the capture's last line was cut off (an interrupted capture); it was skipped")
    tally.summary(f"replayed {args.file}")
    if args.db is not None:
        _store(readings, args.db, args.chair, args.file)
    return 0


class Tally:
    """What an adapter made of a stream: readings by parameter, bad frames by message."""

    def __init__(self, adapter: DeviceAdapter, say: Say) -> None:
        self.adapter, self.say = adapter, say
        self.readings: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        counted = adapter.bad_frame

        def bad_frame(message: str) -> None:  # every bad frame's reason, not only the last
            self.errors[NUMBERS.sub("N", message)] += 1
            counted(message)

        adapter.bad_frame = bad_frame

    def feed(self, chunk: bytes, when: datetime | None) -> list[Reading]:
        readings = self.adapter.feed(chunk)
        for reading in readings:
            self.readings[reading.param.value] += 1
            self.say(_line(reading, when))
        return readings

    def summary(self, title: str) -> None:
        counts = self.adapter.counts
        _say(f"{title}: {counts.frames_ok} frames read, {counts.frames_bad} bad")
        per_param = ", ".join(f"{p} {n}" for p, n in sorted(self.readings.items()))
        _say(f"readings: {per_param or 'none'}")
        for message, n in self.errors.most_common(MAX_LISTED):
            _say(f"bad frames ×{n}: {message}")
        if len(self.errors) > MAX_LISTED:
            _say(f"bad frames of {len(self.errors) - MAX_LISTED} other kinds not listed")
        for kind, n in sorted(counts.unused.items(), key=lambda item: (-item[1], item[0])):
            _say(f"received but not used ×{n}: {kind}")


def capture(
    url: str,
    protocol: str,
    out: Path,
    seconds: float | None,
    options: Mapping[str, Any],
    say: Say,
    stop: threading.Event,
) -> Tally:
    """Record the line until ``seconds`` pass or ``stop`` is set; the tally of what it read."""
    adapter = new_adapter(protocol, options)
    port = open_port(url, adapter.serial)
    started, began = datetime.now(UTC), time.monotonic()
    writer = CaptureWriter(out, Header(protocol, url, options, started))
    tally = Tally(adapter, say)
    say(f"capturing {protocol} from {url} into {out}; Ctrl-C stops")

    def send(data: bytes, now: float) -> None:
        if data:
            port.write(data)
            writer.record(now - began, OUT, data)

    try:
        send(adapter.on_connect(), time.monotonic())
        heard, frames = began, 0
        while not stop.is_set() and (seconds is None or time.monotonic() - began < seconds):
            chunk = port.read(port.in_waiting or 1)
            now = time.monotonic()
            if chunk:
                writer.record(now - began, IN, chunk)
                tally.feed(chunk, started + timedelta(seconds=now - began))
            if adapter.counts.frames_ok != frames:
                heard, frames = now, adapter.counts.frames_ok
            owed = adapter.take_output() + adapter.due(now)
            if now - heard >= SILENCE_S:
                say(f"nothing read for {now - heard:.0f} s; asking the monitor again")
                owed += adapter.on_silence()
                heard = now
            send(owed, now)
    except (serial.SerialException, OSError) as exc:
        raise PortUnavailable(f"port {url} failed during the capture: {exc}") from None
    finally:
        writer.close()
        port.close()
    return tally


def replay(
    found: Capture, protocol: str, options: Mapping[str, Any], chunk: str, say: Say
) -> tuple[Tally, list[Reading]]:
    """Decode a capture's received bytes; returns the tally and the readings, stamped with
    their receipt time (or, for a raw file without times, with the time of this replay,
    for printing: such readings are never stored)."""
    adapter = new_adapter(protocol, options)
    now = [0.0]
    adapter.clock = lambda: now[0]  # the adapter's timeouts run on the capture's clock
    adapter.on_connect()
    split = _chunking(chunk)
    tally, stamped, started = Tally(adapter, say), [], found.header.started
    for record in found.records:
        now[0] = record.t
        if record.direction == IN:
            when = started + timedelta(seconds=record.t) if started else None
            for piece in split(record.data):
                stamp = when or utc_now()
                stamped += [r.stamped("", stamp, "") for r in tally.feed(piece, when)]
        adapter.take_output()
        adapter.due(record.t)  # what it would send now; a replay sends nothing
    return tally, stamped


def _store(readings: list[Reading], db: Path, chair: str, path: Path) -> None:
    source = f"replay {path.name}"[:60]
    readings = assess([r.stamped(chair, r.time or utc_now(), source) for r in readings])
    writer = StoreWriter(db)
    try:
        summary = import_readings(writer, readings)
    finally:
        writer.close()
    _say(
        f"{summary.added} readings stored for chair {chair} in {db};"
        f" {summary.already_stored} were already there; {summary.flagged} flagged invalid"
    )


def _plain_hl7(found: Capture) -> bool:
    """A raw file of HL7 messages saved as text, without MLLP framing."""
    data = found.records[0].data if found.records else b""
    return found.header.started is None and data.lstrip().startswith(b"MSH|") and START not in data


def _chunking(spec: str) -> Callable[[bytes], Iterator[bytes]]:
    """'recorded' → as read; '16' → 16 bytes at a time; 'random' or 'random:7' → random sizes."""
    if spec == "recorded":
        return lambda data: iter([data])
    if spec.startswith("random"):
        rng = random.Random(int(spec.partition(":")[2] or 0))
        return lambda data: _pieces(data, lambda: rng.randint(1, RANDOM_CHUNK))
    if spec.isdigit() and int(spec) > 0:
        return lambda data: _pieces(data, lambda: int(spec))
    raise ConfigError(f"--chunk {spec!r}: expected 'recorded', a byte count or 'random[:SEED]'")


def _pieces(data: bytes, size: Callable[[], int]) -> Iterator[bytes]:
    at = 0
    while at < len(data):
        step = size()
        yield data[at : at + step]
        at += step


def _options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {pair!r}: expected KEY=VALUE")
        options[key] = _value(text)
    return options


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _line(reading: Reading, when: datetime | None) -> str:
    """One reading: receipt time (UTC), or the device's own time when a raw file has none."""
    if when is not None:
        at = when.strftime("%H:%M:%S.%f")[:-3] + "Z"
    elif reading.device_time is not None:
        at = reading.device_time.strftime("%Y-%m-%d %H:%M:%SZ (device clock)")
    else:
        at = "(no time)"
    value = "—" if reading.value is None else f"{reading.value:g}"
    return f"{at}  {reading.param.value:<5} {value} {reading.unit}  {reading.quality.value}"


def _say(line: str) -> None:
    print(line, flush=True)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM end the capture cleanly: the file is closed, the summary printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
