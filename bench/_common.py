"""Helpers shared by the benchmark scripts (run as ``python -m bench.NAME`` from the root)."""

from __future__ import annotations

import statistics


def percentiles(samples_ms: list[float]) -> str:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return (
        f"n={len(samples_ms)}  p50={cuts[49]:.2f} ms  p95={cuts[94]:.2f} ms  "
        f"p99={cuts[98]:.2f} ms  max={max(samples_ms):.2f} ms"
    )
