"""The clinic's time: a zone by name or the machine's, local times dated where the day changes."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from vitals.clinic_time import clinic_zone, clock, date_and_clock, machine_zone, span
from vitals.errors import ConfigError

CHICAGO = ZoneInfo("America/Chicago")


def test_the_machine_zone_follows_tz(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "America/Chicago")
    assert machine_zone() == CHICAGO
    assert clinic_zone(None) == CHICAGO and clinic_zone("") == CHICAGO
    assert clinic_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert clinic_zone("UTC") is UTC


def test_an_unknown_zone_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown time zone 'Mars/Olympus'.*America/Chicago"):
        clinic_zone("Mars/Olympus")


def test_local_times_carry_their_date_only_where_the_day_changes() -> None:
    evening = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)  # 21:30 on the 27th in Chicago
    assert clock(evening, CHICAGO, day=datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == "21:30"
    assert clock(evening, CHICAGO, day=datetime(2026, 11, 28, 12, 0, tzinfo=UTC)) == (
        "Fri 27 Nov 21:30"
    )
    assert clock(evening, CHICAGO, day=datetime(2025, 1, 1, 12, 0, tzinfo=UTC)) == (
        "Fri 27 Nov 2026 21:30"
    )
    assert date_and_clock(evening, CHICAGO) == "Fri 27 Nov 2026 21:30"


def test_a_span_past_midnight_never_ends_before_it_starts() -> None:
    start = datetime(2026, 11, 28, 4, 7, tzinfo=UTC)  # 22:07 Chicago, the 27th
    end = datetime(2026, 11, 28, 11, 9, 18, tzinfo=UTC)  # 05:09:18 Chicago, the 28th
    assert span(start, end, CHICAGO, day=start, seconds=True) == "22:07:00 – Sat 28 Nov 05:09:18"
    assert span(start, None, CHICAGO, day=start) == "22:07 – still open"
