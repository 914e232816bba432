"""What a chair's devices sent that Chairside did not use, as the chair detail lists it.

A plain function over the device states, so the wording is tested without Streamlit. The
kinds come from the devices' adapters ("OBX 150344 MDC_TEMP", "waveform record"); they are
shown in a table, never as Markdown, since their text comes from the device.
"""

from __future__ import annotations

import pandas as pd

TITLE = "Received from the monitor but not used"
HELP = (
    "What the monitor sent that Chairside does not record: other measurements, alarm or "
    "waveform messages, demo data, values marked as missing. If a blood pressure, heart "
    "rate, pulse or SpO2 appears here, ask the clinic's IT to check the monitor's settings."
)
COLUMNS = ["Device", "What", "Times"]


def unused_table(states: pd.DataFrame, chair: str) -> pd.DataFrame:
    """One row per device and kind, the most frequent first."""
    rows = []
    for state in states[states.chair == chair].itertuples(index=False):
        counts = sorted(state.unused.items(), key=lambda item: (-item[1], item[0]))
        rows += [(state.device or "monitor", kind, count) for kind, count in counts]
    return pd.DataFrame(rows, columns=COLUMNS)
