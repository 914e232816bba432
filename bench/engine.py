"""Alert-engine throughput on the review path: 24 h of 1 Hz data for one chair.

The readings are a simulated session encoded and decoded through the GE S/5 protocol (HR,
SpO2 and pulse every second, NIBP every 5 minutes); the figure is the time of
``vitals.engine.evaluate`` over them with the iv-ketamine rules, i.e. what review costs.

    python -m bench.engine [--hours 24]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from simulators.offline import recorded_session
from vitals.clinical import load_protocol
from vitals.engine import evaluate
from vitals.reading import Param


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    readings = recorded_session(
        "c1", "hypertensive", 1, start, int(args.hours * 3600), interval_s=1
    )
    protocol = load_protocol("iv-ketamine")
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        episodes = evaluate(protocol.rules, readings, {Param.SBP: 125.0}, start)
        best = min(best, time.perf_counter() - began)
    print(
        f"engine over {args.hours:g} h at 1 Hz: {len(readings)} readings in {best:.3f} s "
        f"({len(readings) / best:,.0f} readings/s), {len(episodes)} episodes (best of 3)"
    )


if __name__ == "__main__":
    main()
