"""Audible alarms in the browser: a distinct tone pattern per level, repeated until acknowledged.

Patterns follow the spirit of IEC 60601-1-8: high priority is a fast, high burst of five
pulses (3 + 2); medium is three slower, lower pulses. The WAV files are synthesised once;
the page plays the one for the most severe unacknowledged episode, looping, and stops as
soon as nothing unacknowledged remains. Browsers only play sound after the user has
interacted with the page (here: signing in), which the sound switch explains.
"""

from __future__ import annotations

import functools
import io
import wave

import numpy as np

RATE = 16_000
PATTERNS = {
    # (frequency Hz, [(on s, off s), ...], pause s after the burst)
    "critical": (880.0, [(0.12, 0.08)] * 2 + [(0.12, 0.30)] + [(0.12, 0.08), (0.12, 0.0)], 1.2),
    "warning": (600.0, [(0.2, 0.15)] * 2 + [(0.2, 0.0)], 3.0),
    # a chair without current data: two low, long tones, unlike either clinical pattern
    "technical": (440.0, [(0.4, 0.2), (0.4, 0.0)], 4.0),
}


@functools.cache
def alarm_wav(level: str) -> bytes:
    """The alarm sound for ``level`` as a 16-bit mono WAV (one burst plus its pause)."""
    frequency, pulses, pause = PATTERNS[level]
    chunks = []
    for on, off in pulses:
        t = np.arange(int(on * RATE)) / RATE
        envelope = np.minimum(1.0, np.minimum(t, on - t) / 0.01)  # 10 ms ramps: no clicks
        chunks += [np.sin(2 * np.pi * frequency * t) * envelope, np.zeros(int(off * RATE))]
    chunks.append(np.zeros(int(pause * RATE)))
    samples = (np.concatenate(chunks) * 0.6 * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def alarm_level(unacknowledged_levels: list[str]) -> str | None:
    """Which sound to play: the most severe unacknowledged warning or critical, else the
    technical tone of a chair without current data, else none."""
    for level in ("critical", "warning", "technical"):
        if level in unacknowledged_levels:
            return level
    return None
