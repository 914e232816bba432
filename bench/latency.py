"""Latency on the live path, from the last byte of a frame written to the port:
to its readings committed, and (for frames with an offending value) to its alert episode
committed.

A real pseudo-terminal carries GE S/5 display frames to a recorder running in this process.
Frames alternate between SpO2 84 % (beyond the critical limit of 85 %: an episode opens at
once) and 97 % (the episode ends), so every second frame raises a new episode. Times are
taken from one clock where the frame's write returns and where the store writer reports
the readings or the episode committed (durable, synchronous=FULL).

    python -m bench.latency [--frames 2000] [--rate 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import tty
from pathlib import Path

from bench._common import percentiles
from chairside.recorder import Recorder
from devices.ge_s5 import display_record, encode_frame
from vitals.chairs import Chair
from vitals.reading import Param
from vitals.store import StoreWriter
from vitals.times import to_us


class Timings:
    """Where the recorder's writes return: the moment data is committed."""

    def __init__(self) -> None:
        self.readings: dict[int, float] = {}
        self.episodes_opened: list[float] = []
        write_readings, write_episodes = StoreWriter.write_readings, StoreWriter.write_episodes

        def timed_readings(writer: StoreWriter, readings) -> None:
            write_readings(writer, readings)
            done = time.perf_counter()
            for r in readings:
                self.readings.setdefault(to_us(r.device_time), done)

        def timed_episodes(writer: StoreWriter, chair, session, episodes) -> None:
            write_episodes(writer, chair, session, episodes)
            done = time.perf_counter()
            opened = [e for e in episodes if e.rule == "spo2-low" and e.ended is None]
            self.episodes_opened += [done] * len(opened)

        StoreWriter.write_readings = timed_readings
        StoreWriter.write_episodes = timed_episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50, help="frames per second")
    args = parser.parse_args()
    timings = Timings()
    master, slave = os.openpty()
    tty.setraw(slave)
    written: dict[int, float] = {}
    offending: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        chair = Chair("bench", "Bench", os.ttyname(slave), "ge-s5", {"interval_s": 5})
        recorder = Recorder([chair], Path(tmp) / "bench.db")
        thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
        thread.start()
        time.sleep(2.0)  # the worker opens the port, sends its request, loads its rules
        start = 1_800_000_000
        for i in range(args.frames):
            spo2 = 84 if i % 2 == 0 else 97
            values = {Param.HR: 70, Param.SPO2: spo2, Param.PULSE: 70}
            os.write(master, encode_frame(display_record(i, start + i, values)))
            now = time.perf_counter()
            written[(start + i) * 1_000_000] = now
            if spo2 == 84:
                offending.append(now)
            time.sleep(1 / args.rate)
        time.sleep(1.0)
        recorder.stop()
        thread.join()
    readings = [
        (timings.readings[k] - t) * 1000 for k, t in written.items() if k in timings.readings
    ]
    alerts = [(c - w) * 1000 for w, c in zip(offending, timings.episodes_opened, strict=False)]
    print(f"ge-s5 frame written -> readings committed: {percentiles(readings)}")
    print(f"offending frame written -> alert episode committed: {percentiles(alerts)}")
    lost = len(written) - len(readings)
    episodes = len(timings.episodes_opened)
    print(f"frames {len(written)}, committed {len(readings)}, lost {lost}; "
          f"episodes expected {len(offending)}, committed {episodes}")  # fmt: skip


if __name__ == "__main__":
    main()
