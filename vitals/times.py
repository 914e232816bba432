"""Time in the store is integer microseconds since the Unix epoch, UTC: exact, sortable, small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Chairside times must be UTC-aware")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_us(micros: int) -> datetime:
    """Exact (integer arithmetic, no float seconds) and about twice as fast as fromtimestamp."""
    return EPOCH + timedelta(microseconds=micros)


def iso_utc(moment: datetime, microseconds: bool = False) -> str:
    """ISO-8601 with a Z, in milliseconds (views, logs) or microseconds (exact exports)."""
    moment = moment.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}" if microseconds else f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"
