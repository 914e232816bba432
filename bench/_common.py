"""Helpers shared by the benchmark scripts (run as ``python -m bench.NAME`` from the root)."""

from __future__ import annotations

import statistics


def percentiles(samples_ms: list[float]) -> str:
    if len(samples_ms) < 2:  # said, so one protocol that gave nothing does not end the run
        return f"n={len(samples_ms)}: too few to give percentiles"
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return (
        f"n={len(samples_ms)}  p50={cuts[49]:.2f} ms  p95={cuts[94]:.2f} ms  "
        f"p99={cuts[98]:.2f} ms  max={max(samples_ms):.2f} ms"
    )


def table(rows: dict[str, dict[str, float]], names: tuple[str, ...], first: str = "size") -> str:
    """A Markdown table of figures, a row per store: one decimal below 100, none above."""
    lines = [f"| {first} | " + " | ".join(names) + " |", "|" + " --- |" * (len(names) + 1)]
    for label, figures in rows.items():
        cells = [f"{figures[n]:.1f}" if figures[n] < 100 else f"{figures[n]:.0f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
