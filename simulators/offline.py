"""A session recorded in memory: the model encoded and decoded through the real protocol.

For sample data, benchmarks and page tests that need hours of realistic readings in
milliseconds: the bytes take the same encoder and decoder path as on a port, only the port
and the wall clock are left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from devices.registry import new_adapter, new_monitor
from simulators.physiology import Baseline, PatientModel
from simulators.scenarios import scenario
from vitals.plausibility import assess
from vitals.reading import Reading


def recorded_session(
    chair: str,
    scenario_name: str,
    seed: int,
    start: datetime,
    duration_s: int,
    interval_s: int = 5,
    protocol: str = "ge-s5",
    baseline: Baseline | None = None,
) -> list[Reading]:
    """Readings as the recorder would store them, stamped from ``start`` at each frame."""
    model = PatientModel(scenario(scenario_name), seed, baseline=baseline)
    monitor, adapter = new_monitor(protocol), new_adapter(protocol, {"interval_s": interval_s})
    readings: list[Reading] = []
    for second in range(duration_s):
        model.step()
        if second % interval_s:
            continue
        at = start + timedelta(seconds=second)
        frame, _ = monitor.encode(int(at.timestamp()), model.display())
        decoded = assess(adapter.feed(frame))
        readings += [r.stamped(chair, at, protocol) for r in decoded]
    return readings
