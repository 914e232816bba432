"""Latency on the live path for every protocol, from the last byte of a frame written to the
port: to its readings committed, and (for frames with an offending value) to its alert
episode committed.

A real pseudo-terminal carries each protocol's frames (built by its simulated monitor) to a
recorder running in this process. Frames alternate between SpO2 84 % (beyond the critical
limit of 85 %: an episode opens at once) and 97 % (the episode ends), so every second frame
raises a new episode. Times are taken from one clock where the frame's write returns and
where the store writer reports the readings or the episode committed (synchronous=FULL).
Frames are matched to commits in order, by their pulse value.

    python -m bench.latency [--frames 2000] [--rate 50] [--protocol NAME ...]
"""

from __future__ import annotations

import argparse
import os
import select
import tempfile
import threading
import time
import tty
from pathlib import Path

from bench._common import percentiles
from chairside.recorder import Recorder
from devices.registry import new_monitor, protocols
from vitals.chairs import Chair
from vitals.reading import Param
from vitals.store import StoreWriter


class Timings:
    """Where the recorder's writes return: the moment data is committed."""

    def __init__(self) -> None:
        self.pulses: list[tuple[float, float]] = []  # (commit time, pulse value)
        self.episodes_opened: list[float] = []
        write_readings, write_episodes = StoreWriter.write_readings, StoreWriter.write_episodes
        post_readings = StoreWriter.post_readings

        def timed_readings(writer: StoreWriter, readings) -> None:
            write_readings(writer, readings)
            self._committed(readings)

        def timed_post(writer: StoreWriter, readings):
            ticket = post_readings(writer, readings)
            ticket.answered.wait()
            self._committed(readings)
            return ticket

        def timed_episodes(writer: StoreWriter, chair, session, episodes) -> None:
            write_episodes(writer, chair, session, episodes)
            done = time.perf_counter()
            opened = [e for e in episodes if e.rule == "spo2-low" and e.ended is None]
            self.episodes_opened += [done] * len(opened)

        StoreWriter.write_readings = timed_readings
        StoreWriter.post_readings = timed_post
        StoreWriter.write_episodes = timed_episodes

    def _committed(self, readings) -> None:
        done = time.perf_counter()
        self.pulses += [(done, r.value) for r in readings if r.param is Param.PULSE]


def drain(master: int, stop: threading.Event) -> None:
    """Swallow what the recorder sends back (requests, ACKs), as a monitor would."""
    while not stop.is_set():
        if select.select([master], [], [], 0.1)[0]:
            os.read(master, 65536)


def measure(protocol: str, frames: int, rate: float) -> None:
    timings = Timings()
    monitor = new_monitor(protocol)
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()
    threading.Thread(target=drain, args=(master, stop), daemon=True).start()
    written: list[tuple[float, float]] = []
    offending: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        options = monitor.chair_options(5)
        chair = Chair("bench", "Bench", os.ttyname(slave), protocol, options)
        recorder = Recorder([chair], Path(tmp) / "bench.db")
        thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
        thread.start()
        time.sleep(2.0)  # the worker opens the port and loads its rules
        for i in range(frames):
            pulse, spo2 = float(40 + i % 200), 84 if i % 2 == 0 else 97
            values = {Param.HR: pulse, Param.PULSE: pulse, Param.SPO2: spo2}
            encoded, _ = monitor.encode(1_800_000_000 + 5 * i, values)
            os.write(master, encoded)
            now = time.perf_counter()
            written.append((now, pulse))
            if spo2 == 84:
                offending.append(now)
            time.sleep(1 / rate)
        time.sleep(1.0)
        recorder.stop()
        thread.join()
    stop.set()
    latencies = _match(written, timings.pulses)
    alerts = [(c - w) * 1000 for w, c in zip(offending, timings.episodes_opened, strict=False)]
    print(f"{protocol}: frame written -> readings committed: {percentiles(latencies)}")
    print(f"{protocol}: offending frame -> alert episode committed: {percentiles(alerts)}")
    print(
        f"{protocol}: frames {len(written)}, committed {len(latencies)}, "
        f"lost {len(written) - len(latencies)}"
    )


def _match(written: list[tuple[float, float]], committed: list[tuple[float, float]]) -> list[float]:
    """Pair frames and commits in order by pulse value; a frame never committed is skipped."""
    latencies, j = [], 0
    for sent_at, pulse in written:
        k = j
        while k < len(committed) and committed[k][1] != pulse:
            k += 1
        if k < len(committed):
            latencies.append((committed[k][0] - sent_at) * 1000)
            j = k + 1
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50, help="frames per second")
    parser.add_argument("--protocol", choices=protocols(), action="append")
    args = parser.parse_args()
    for protocol in args.protocol or protocols():
        measure(protocol, args.frames, args.rate)


if __name__ == "__main__":
    main()
