"""Fewer points for a long trace, every peak and dip kept: for charts on screen and on paper.

A day at 1 Hz is 86 400 points a trace; a chart a few hundred millimetres or a couple of
thousand pixels wide shows no more than that many. MinMaxLTTB (the ``tsdownsample`` package)
keeps the shape and, through its min/max preselection, the one-sample spike a nurse must see.
"""

from __future__ import annotations

from vitals.lazy import lazy

np = lazy("numpy")
tsdownsample = lazy("tsdownsample")


def keep_indices(x: np.ndarray, y: np.ndarray, most: int) -> np.ndarray:
    """Sorted indices of at most ``most`` points of (x, y) to draw; all of them if few.

    ``x`` must be increasing integers (e.g. milliseconds), ``y`` floats.
    """
    if len(x) <= most:
        return np.arange(len(x))
    return np.sort(tsdownsample.MinMaxLTTBDownsampler().downsample(x, y, n_out=most))
