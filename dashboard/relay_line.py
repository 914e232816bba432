"""The site station's word on the central review: is everything recorded here there too?

A site that forwards to a central store shows, above the tiles, how far the central copy is
behind: "Central review: up to date", or "Central review 12 min behind — 2,345 readings
waiting; link down since 10:02". An outage of the link is shown and counted, never alarmed
as a patient alert: the chairs here are monitored as before, only the central copy waits.
"""

from __future__ import annotations

import pandas as pd

from dashboard.tiles import clinic_time
from vitals.store.relay import RelayStatus


def relay_line(status: RelayStatus, now: pd.Timestamp) -> tuple[bool, str]:
    """Whether it needs a look, and the sentence (a forwarding site always shows one)."""
    return status.describe(
        now.value // 1000, lambda us: clinic_time(pd.Timestamp(us, unit="us", tz="UTC"))
    )
