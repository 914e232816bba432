"""CSV export and import of a chair's stream: readings, events and alert episodes.

``readings.csv`` has the documented columns ``chair,time_utc,param,value,unit,quality,
source,device_time_utc`` (times ISO-8601 UTC with a Z, to the microsecond; ``value`` empty
for "no data"). It is also what ``import`` reads, so recordings made elsewhere can be
reviewed like our own. ``events.csv`` and ``episodes.csv`` carry the session's annotations
and alert log beside it.

Every text cell is safe to open in a spreadsheet (the OWASP "CSV injection" rule): a cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a
formula, so it is written with a leading ``'``, which spreadsheets show as text. A cell that
already begins with ``'`` gets one more, so import takes exactly one off and gets the
original text back. Numbers (``-3``, ``1e-05``) are left as they are.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vitals.chairs import CHAIR_ID, Chair
from vitals.errors import ConfigError
from vitals.exchange.progress import Progress, tracked
from vitals.lazy import lazy
from vitals.plausibility import judge_by_moment
from vitals.reading import UNITS, Param, Quality, Reading
from vitals.store import StoreWriter, connect_readonly, queries
from vitals.times import from_us, iso_utc, to_us

pd = lazy("pandas")

READING_COLUMNS = [
    "chair",
    "time_utc",
    "param",
    "value",
    "unit",
    "quality",
    "source",
    "device_time_utc",
]
IMPORT_BATCH = 10_000
EVENT_COLUMNS = ["session", "chair", "time_utc", "kind", "text", "value", "by"]
EPISODE_COLUMNS = [
    "chair",
    "session",
    "rule",
    "param",
    "kind",
    "level",
    "started_utc",
    "ended_utc",
    "peak_value",
    "reason",
    "acked_by",
    "acked_utc",
    "ack_comment",
]


def export_csv(
    conn: sqlite3.Connection,
    out: Path,
    chair: str,
    start: datetime,
    end: datetime | None = None,
    session: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write readings.csv, events.csv and episodes.csv into ``out``; returns rows per file."""
    out.mkdir(parents=True, exist_ok=True)
    total = queries.count_readings(conn, chair, start, end)
    readings = tracked(
        queries.export_rows(conn, chair, start, end), "readings.csv", progress, total
    )
    events = queries.events(conn, session) if session is not None else pd.DataFrame()
    episodes = queries.episodes(conn, chair=chair, since=start, until=end)
    episodes = episodes[episodes.started >= pd.Timestamp(start)]
    return {
        "readings.csv": _write(
            out / "readings.csv",
            READING_COLUMNS,
            (_reading_row(chair, row) for row in readings),
        ),
        "events.csv": _write(
            out / "events.csv", EVENT_COLUMNS, map(_event_row, events.itertuples())
        ),
        "episodes.csv": _write(
            out / "episodes.csv", EPISODE_COLUMNS, map(_episode_row, episodes.itertuples())
        ),
    }


def read_readings_csv(path: Path) -> list[Reading]:
    """Readings from a CSV with the documented columns; a bad row is a ConfigError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    rows = csv.DictReader(io.StringIO(text))
    missing = set(READING_COLUMNS[:6]) - set(rows.fieldnames or [])
    if missing:
        raise ConfigError(f"{path}: missing columns {sorted(missing)}; expected {READING_COLUMNS}")
    readings = []
    for line, row in enumerate(rows, start=2):
        try:
            readings.append(_reading(row))
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{path}:{line}: {exc}") from None
    return readings


def _reading(row: dict[str, str]) -> Reading:
    param = Param(row["param"])
    if row["unit"] != UNITS[param]:
        raise ValueError(f"unit {row['unit']!r} for {param.value}; expected {UNITS[param]!r}")
    chair = original_text(row["chair"])
    if not chair:
        raise ValueError("chair is empty")
    value = float(row["value"]) if row["value"] else None
    device = row.get("device_time_utc") or ""
    return Reading(
        param,
        value,
        Quality(row["quality"]),
        _time(device) if device else None,
        _time(row["time_utc"]),
        chair,
        original_text(row.get("source") or ""),
    )


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return moment


def _reading_row(chair: str, row: queries.ExportRow) -> list[Any]:
    t_us, param, value, quality, device_us, source = row
    device = iso_utc(from_us(device_us), microseconds=True) if device_us is not None else ""
    time = iso_utc(from_us(t_us), microseconds=True)
    return [chair, time, param.value, _num(value), UNITS[param], quality.value, source, device]


def _event_row(e: Any) -> list[Any]:
    return [e.session, e.chair, iso_utc(e.time), e.kind, e.text, _num(e.value), e.by]


def _episode_row(e: Any) -> list[Any]:
    ended = "" if pd.isna(e.ended) else iso_utc(e.ended)
    acked = isinstance(e.acked_by, str)
    return [
        e.chair,
        _num(e.session),
        e.rule,
        e.param or "",
        e.kind,
        e.level,
        iso_utc(e.started),
        ended,
        _num(e.peak_value),
        e.reason,
        e.acked_by if acked else "",
        iso_utc(e.acked) if acked else "",
        e.acked_comment,  # '' when none was given
    ]


def _num(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value:g}"


def _write(path: Path, header: list[str], rows: Iterable[list[Any]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        count = 0
        for row in rows:
            out.writerow([spreadsheet_safe(cell) for cell in row])
            count += 1
    return count


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def spreadsheet_safe(cell: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs; numbers are kept as numbers."""
    if not isinstance(cell, str) or not cell.startswith((*FORMULA_STARTS, ESCAPE)):
        return cell
    try:
        float(cell)
        return cell
    except ValueError:
        return ESCAPE + cell


def original_text(cell: str) -> str:
    """What ``spreadsheet_safe`` was given: one leading ``'`` removed."""
    return cell[1:] if cell.startswith(ESCAPE) else cell


@dataclass(frozen=True)
class ImportSummary:
    """What an import did with a file's readings, for the one line the user reads."""

    added: int
    already_stored: int
    repeated: int  # rows the file itself holds twice (same chair, time and parameter)
    flagged: int  # readings judged implausible and stored ``invalid``

    def __str__(self) -> str:
        return (
            f"{self.added} readings imported; {self.already_stored} already stored; "
            f"{self.repeated} repeated in the file, stored once; "
            f"{self.flagged} flagged invalid as implausible"
        )


IMPORTED = "import"


def marked_imported(r: Reading) -> Reading:
    """An imported reading's source says so (``import:ge-s5``): never taken for acquired."""
    if r.source == IMPORTED or r.source.startswith(IMPORTED + ":"):
        return r
    return replace(r, source=f"{IMPORTED}:{r.source}" if r.source else IMPORTED)


def import_readings(writer: StoreWriter, readings: list[Reading]) -> ImportSummary:
    """Store readings made elsewhere, judged as live ones are (every format comes through
    here): implausible values are kept but flagged ``invalid`` (an NIBP triple judged
    together), a row repeated in the file is stored once, and readings already stored are
    skipped, so importing the same file twice stores each reading once."""
    unique, keys = [], set()
    for r in map(marked_imported, readings):
        key = (r.chair, to_us(r.time), r.param.value)
        if key not in keys:
            keys.add(key)
            unique.append(r)
    judged = judge_by_moment(unique)
    flagged = sum(1 for a, b in zip(unique, judged, strict=True) if a.quality is not b.quality)
    fresh = _not_stored(writer, judged)
    new_chairs = sorted({r.chair for r in fresh} - _known_chairs(writer))
    bad = [c for c in new_chairs if not CHAIR_ID.match(c)]
    if bad:
        raise ConfigError(
            f"chair id {bad[0]!r} is not a chair id (letters, digits, - and _, up to 40)"
        )
    if new_chairs:
        writer.write_chairs([Chair(c, c, "imported", "import") for c in new_chairs])
    for start in range(0, len(fresh), IMPORT_BATCH):
        writer.write_readings(fresh[start : start + IMPORT_BATCH])
    return ImportSummary(len(fresh), len(unique) - len(fresh), len(readings) - len(unique), flagged)


def _not_stored(writer: StoreWriter, readings: list[Reading]) -> list[Reading]:
    if not readings:
        return []
    conn = connect_readonly(writer.path)
    try:
        stored = _stored_keys(conn, readings)
    finally:
        conn.close()
    return [r for r in readings if (r.chair, to_us(r.time), r.param.value) not in stored]


def _known_chairs(writer: StoreWriter) -> set[str]:
    conn = connect_readonly(writer.path)
    try:
        return set(queries.chairs(conn).chair)
    finally:
        conn.close()


def _stored_keys(conn: sqlite3.Connection, readings: list[Reading]) -> set[tuple[str, int, str]]:
    """(chair, t_us, param) already in the store over the time span of ``readings``."""
    keys: set[tuple[str, int, str]] = set()
    for chair in {r.chair for r in readings}:
        times = [r.time for r in readings if r.chair == chair]
        span = queries.stored_readings(
            conn, chair, min(times), max(times) + timedelta(microseconds=1)
        )
        keys |= {(chair, to_us(r.time), r.param.value) for r in span}
    return keys
