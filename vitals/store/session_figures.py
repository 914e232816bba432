"""A session's figures from its readings, asked of the database rather than counted in Python.

The session list shows each open session's peaks and its time above the thresholds, and an
open session is summarised afresh on every load (its figures change with every reading). At
1 Hz that is thousands of readings a session; SQLite answers each figure with one pass over
one range of the clustered key (chair, parameter, time) without a Python object per reading,
so a list page with every chair's session open costs milliseconds, not half a second.
Ended sessions' summaries are computed by the same code once, then stored (``vitals.review``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from vitals.reading import Param
from vitals.store.queries import VALUED_OK
from vitals.times import from_us, to_us

# One parameter of one chair in [start, end), valid values only, as the summary counts them.
RANGE = f"""
    FROM readings
    WHERE chair_key = (SELECT key FROM chair_keys WHERE chair = ?)
      AND param_key = (SELECT key FROM params WHERE param = ?)
      AND t_us >= ? AND t_us < ? {VALUED_OK}
"""  # noqa: S608 (constant fragments)
# The highest value, the earliest time it was reached.
PEAK = f"SELECT value, t_us {RANGE} ORDER BY value DESC, t_us LIMIT 1"
# Each value holds until the next reading of the parameter, the last one until the end.
HELD = f"""
    SELECT value, coalesce(lead(t_us) OVER (ORDER BY t_us, seq), ?) - t_us AS held_us
    {RANGE}
"""


def peak(
    conn: sqlite3.Connection, chair: str, param: Param, start: datetime, end: datetime
) -> tuple[float, datetime] | None:
    """The highest valid value of ``param`` in ``[start, end)`` and when it was first reached."""
    row = conn.execute(PEAK, (chair, param.value, to_us(start), to_us(end))).fetchone()
    return None if row is None else (row[0], from_us(row[1]))


# A rule's comparison as ``Rule.operator`` prints it, in SQL (a fixed set: never user text).
COMPARISONS = {"≥": ">=", ">": ">", "≤": "<=", "<": "<"}


def seconds_beyond(
    conn: sqlite3.Connection,
    chair: str,
    param: Param,
    start: datetime,
    end: datetime,
    thresholds: Sequence[float],
    operator: str = "≥",
) -> list[float]:
    """For each threshold, the seconds of ``[start, end)`` during which the last valid value
    of ``param`` was beyond it by ``operator`` (a value holds until the next one, the last
    until end): a high rule's time above its line, a low rule's time below it."""
    if not thresholds:
        return []
    compare = COMPARISONS[operator]
    sums = ", ".join(
        f"coalesce(sum(CASE WHEN value {compare} ? THEN held_us END), 0)" for _ in thresholds
    )
    row = conn.execute(
        f"SELECT {sums} FROM ({HELD}) AS held",  # noqa: S608 (constant fragments)
        (*thresholds, to_us(end), chair, param.value, to_us(start), to_us(end)),
    ).fetchone()
    return [held_us / 1e6 for held_us in row]


class ClinicalAlert(NamedTuple):
    level: str  # advisory, warning or critical
    started_us: int
    acked_us: int | None  # the first acknowledgment


def clinical_alerts(conn: sqlite3.Connection, session: int) -> list[ClinicalAlert]:
    """The session's clinical episodes with their first acknowledgment, oldest first."""
    rows = conn.execute(
        "SELECT e.level, e.started_us,"
        " (SELECT min(t_us) FROM acknowledgments WHERE episode = e.id)"
        " FROM episodes e WHERE e.session = ? AND e.kind = 'clinical'"
        " ORDER BY e.started_us, e.id",
        (session,),
    )
    return [ClinicalAlert(*row) for row in rows]
