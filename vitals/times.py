"""Time in the store is integer microseconds since the Unix epoch, UTC: exact, sortable, small."""

from __future__ import annotations

from datetime import UTC, datetime


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Chairside times must be UTC-aware")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 with millisecond precision and a Z, the form every view and log uses."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
