"""The clinic's time: what nurses read on the pages and in the PDF report.

The store, the views and the exports keep UTC. People read local wall-clock time in the
clinic's zone: by default the machine's own zone (so ``TZ=America/Chicago`` works), or the
zone named by ``python -m chairside dashboard --timezone``. A time carries its date only
where the day is not the one the reader has in mind (today on a live page, the session's
day in a report), so "05:09" is never read as the morning of the wrong day.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vitals.errors import ConfigError

LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


def machine_zone() -> tzinfo:
    """The zone this machine runs in: ``TZ`` if set, else the system's configured zone."""
    named = os.environ.get("TZ", "").removeprefix(":").strip()
    if named:
        return clinic_zone(named)
    name = _system_zone_name()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def _system_zone_name() -> str | None:
    """The IANA name behind /etc/localtime (a link into the zoneinfo tree) or /etc/timezone."""
    try:
        target = str(LOCALTIME.resolve())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    try:
        return TIMEZONE_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def clinic_zone(name: str | None) -> tzinfo:
    """The zone called ``name`` (IANA, e.g. "Europe/Berlin"), or the machine's when empty."""
    if not name:
        return machine_zone()
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}: give an IANA name such as America/Chicago or "
            "Europe/Berlin"
        ) from None


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def local(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Chairside times must be UTC-aware")
    return moment.astimezone(zone)


def clock(
    moment: datetime, zone: tzinfo, day: datetime | None = None, seconds: bool = False
) -> str:
    """ "14:05" on ``day``'s date (default: today in the clinic), else "Fri 27 Nov 14:05"."""
    shown = local(moment, zone)
    reference = local(day, zone) if day is not None else datetime.now(zone)
    time = f"{shown:%H:%M:%S}" if seconds else f"{shown:%H:%M}"
    if shown.date() == reference.date():
        return time
    if shown.year != reference.year:
        return f"{shown:%a} {shown.day} {shown:%b %Y} {time}"
    return f"{shown:%a} {shown.day} {shown:%b} {time}"


def date_and_clock(moment: datetime, zone: tzinfo) -> str:
    """Always with the date: "Fri 27 Nov 2026 14:05" (headers, report titles)."""
    shown = local(moment, zone)
    return f"{shown:%a} {shown.day} {shown:%b %Y %H:%M}"


def span(
    start: datetime,
    end: datetime | None,
    zone: tzinfo,
    day: datetime | None = None,
    seconds: bool = False,
) -> str:
    """A period read left to right: the start is dated unless on ``day`` (default today), the
    end whenever it falls on another day than the start."""
    begun = clock(start, zone, day=day, seconds=seconds)
    if end is None:
        return f"{begun} – still open"
    return f"{begun} – {clock(end, zone, day=start, seconds=seconds)}"
