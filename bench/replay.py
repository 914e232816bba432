"""Replay speed: how long a clinic's capture takes to decode, per protocol.

For each protocol, a capture file of ``--hours`` of one simulated monitor sending every
second (an IntelliVue answering a poll every second, both directions recorded) is written
with the capture writer, then read back and replayed as ``python -m chairside replay``
does. Prints the file size, the time to read and to decode it, and readings per second.

    python -m bench.replay [--hours 1] [--protocol NAME]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from chairside.capture_file import IN, OUT, CaptureWriter, Header, read_capture
from chairside.field_capture import replay
from devices.registry import new_adapter, new_monitor, protocols
from vitals.reading import Param


def write_capture(protocol: str, seconds: int, path: Path) -> None:
    """One monitor's line, a frame a second, with the client's requests recorded too."""
    rng = random.Random(0)
    monitor, client = new_monitor(protocol), new_adapter(protocol)
    now = [0.0]
    client.clock = lambda: now[0]
    writer = CaptureWriter(path, Header(protocol, "bench", {}, datetime.now(UTC)))

    def exchange(owed: bytes, reply: bytes) -> None:
        if owed:
            writer.record(now[0], OUT, owed)
            monitor.feed(owed)
        reply += monitor.take_replies()
        if reply:
            writer.record(now[0] + 0.01, IN, reply)
            client.feed(reply)

    exchange(client.on_connect(), b"")
    exchange(client.take_output(), b"")  # the answer to an IntelliVue's MDS create event
    for second in range(1, seconds + 1):
        now[0] = float(second)
        owed = client.take_output() + client.due(now[0])
        if owed:
            writer.record(now[0], OUT, owed)
            monitor.feed(owed)
        data, _ = monitor.encode(1_800_000_000 + second, {p: rng.uniform(40, 160) for p in Param})
        exchange(b"", data)
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--protocol", choices=protocols(), action="append")
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    with tempfile.TemporaryDirectory() as folder:
        for protocol in args.protocol or protocols():
            path = Path(folder) / f"{protocol}.capture"
            write_capture(protocol, seconds, path)
            began = time.perf_counter()
            found = read_capture(path)
            read_s = time.perf_counter() - began
            _, readings = replay(found, protocol, {}, "recorded", lambda line: None)
            decode_s = time.perf_counter() - began - read_s
            size = path.stat().st_size / 1e6
            print(
                f"{protocol}: {args.hours:g} h capture, {len(found.records):,} records, "
                f"{size:.1f} MB; read {read_s:.2f} s, decoded {decode_s:.2f} s "
                f"({len(readings) / decode_s:,.0f} readings/s, {len(readings):,} readings)"
            )


if __name__ == "__main__":
    main()
