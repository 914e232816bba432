"""Marks on a chart that must stay readable however crowded the session: threshold labels that
never overlap, and events in lanes so that close ones do not pile into one unreadable cluster.

Plain arithmetic on values and times, tested without plotly or a browser.
"""

from __future__ import annotations

from collections.abc import Sequence

LABEL_PX = 13  # a 10 px label with its leading
CHAR_PX = 6.2  # average width of a 10 px sans-serif character
MARKER_PX = 16
PLOT_PX = 650  # the narrowest plot we draw into (a portrait tablet): labels fit on any wider


def axis_range(values: Sequence[float], pad_share: float = 0.06) -> tuple[float, float]:
    """A y range holding every value with a margin, never narrower than 10 units."""
    low, high = min(values), max(values)
    pad = max(5.0, (high - low) * pad_share)
    return low - pad, high + pad


def spread(values: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Label positions as close to ``values`` as possible, at least ``gap`` apart, inside
    [low, high]; returned in the order given."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [float(values[i]) for i in order]
    for k in range(1, len(placed)):  # push up what sits on its lower neighbour
        placed[k] = max(placed[k], placed[k - 1] + gap)
    if placed and placed[-1] > high:  # then back down from the top if it overflowed
        placed[-1] = high
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - gap)
    if placed and placed[0] < low:  # too many labels for the row: keep order, squeeze
        step = (high - low) / max(1, len(placed) - 1)
        placed = [low + k * step for k in range(len(placed))]
    result = [0.0] * len(values)
    for k, i in enumerate(order):
        result[i] = placed[k]
    return result


def label_gap(low: float, high: float, row_px: float) -> float:
    """The data distance one label needs on a row ``row_px`` pixels high."""
    return (high - low) * LABEL_PX / max(row_px, LABEL_PX)


def lanes(times_s: Sequence[float], labels: Sequence[str], span_s: float, most: int = 3) -> list:
    """A lane (0 = top) for each event so that no label runs into the next one on its lane;
    None where every lane is taken (that event keeps its marker and hover, not its label).

    ``times_s`` are seconds from the chart's start, oldest first; ``span_s`` its width.
    """
    seconds_per_px = max(span_s, 1.0) / PLOT_PX
    free_from = [float("-inf")] * most
    found: list[int | None] = []
    for at, label in zip(times_s, labels, strict=True):
        width_s = (MARKER_PX + len(label) * CHAR_PX) * seconds_per_px
        lane = next((k for k in range(most) if free_from[k] <= at), None)
        if lane is not None:
            free_from[lane] = at + width_s
        found.append(lane)
    return found
