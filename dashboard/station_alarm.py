"""What the station sounds, on whichever page it shows: every chair's alarm, not the page's.

A nurse who opens one chair's page to document must not silence the others: the station's
sound is the most severe unacknowledged alarm of all chairs, and the page names the other
chairs that sound, so she knows the tone is not about the chair in front of her.
"""

from __future__ import annotations

from dashboard.overview_model import Tile
from dashboard.sound import alarm_level

WHY = {
    "critical": "critical alarm not acknowledged",
    "warning": "warning not acknowledged",
    "technical": "no current data",
}


def station_levels(tiles: list[Tile]) -> list[str]:
    """Every level the station's chairs ask to sound."""
    return [level for tile in tiles for level in tile.alarm_levels]


def sounding_elsewhere(tiles: list[Tile], shown: str) -> str | None:
    """The other chairs whose alarm the station sounds, in one line, most severe first."""
    others = [(alarm_level(t.alarm_levels), t.name) for t in tiles if t.chair != shown]
    sounding = [(level, name) for level, name in others if level]
    if not sounding:
        return None
    sounding.sort(key=lambda pair: list(WHY).index(pair[0]))
    return "Also sounding: " + "; ".join(f"{name} — {WHY[level]}" for level, name in sounding)
