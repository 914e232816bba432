"""Latency from the last byte of a frame written to the port to its readings committed.

A real pseudo-terminal carries GE S/5 display frames to a recorder running in this process;
the time a frame's write returns and the time the store writer reports its readings
committed (durable, synchronous=FULL) are taken from the same clock.

    python -m bench.latency [--frames 1000] [--rate 50]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50, help="frames per second")
    args = parser.parse_args()

    committed: dict[int, float] = {}
    original = StoreWriter.write_readings

    def timed_write(self: StoreWriter, readings) -> None:
        original(self, readings)
        done = time.perf_counter()
        for r in readings:
            committed.setdefault(to_us(r.device_time), done)

    StoreWriter.write_readings = timed_write  # measure where the recorder's write returns

    master, slave = os.openpty()
    tty.setraw(slave)
    with tempfile.TemporaryDirectory() as tmp:
        chair = Chair("bench", "Bench", os.ttyname(slave), "ge-s5", {"interval_s": 5})
        recorder = Recorder([chair], Path(tmp) / "bench.db")
        thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
        thread.start()
        time.sleep(1.0)  # the worker opens the port and sends its request
        written: dict[int, float] = {}
        start = 1_800_000_000
        for i in range(args.frames):
            values = {Param.HR: 60 + i % 40, Param.SPO2: 97, Param.PULSE: 61}
            frame = encode_frame(display_record(i, start + i, values))
            os.write(master, frame)
            written[(start + i) * 1_000_000] = time.perf_counter()
            time.sleep(1 / args.rate)
        time.sleep(1.0)
        recorder.stop()
        thread.join()
    latencies = [(committed[k] - t) * 1000 for k, t in written.items() if k in committed]
    print(f"ge-s5 frame written -> readings committed: {percentiles(latencies)}")
    lost = len(written) - len(latencies)
    print(f"frames written {len(written)}, committed {len(latencies)}, lost {lost}")


if __name__ == "__main__":
    main()
