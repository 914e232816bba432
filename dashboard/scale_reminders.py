"""The tile's reminder for nurse-rated scales (MOAA/S, CADSS, respiratory status): the next
one due, or which are OVERDUE, worded like the BP check beside it."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import pandas as pd

from dashboard.tiles import format_age
from vitals.scales import ScaleDue, protocol_scales, scales_due
from vitals.store.measures import scored_times


def scale_reminders(
    conn: sqlite3.Connection, open_sessions: Mapping[str, object], now: pd.Timestamp
) -> dict[str, tuple[str, bool]]:
    """{chair: (text, overdue)} for every chair whose open session has a dose and scales."""
    ids = [int(s.session) for s in open_sessions.values()]
    kinds = sorted({sc.name for s in open_sessions.values() for sc in protocol_scales(s.protocol)})
    scored = scored_times(conn, ids, kinds)
    found = {}
    for chair, s in open_sessions.items():
        if pd.isna(s.dose):
            continue
        due = scales_due(s.protocol, s.dose.to_pydatetime(), scored[int(s.session)], now)
        if due:
            found[chair] = reminder_text(due, now)
    return found


def reminder_text(due: list[ScaleDue], now: pd.Timestamp) -> tuple[str, bool]:
    """``Scales OVERDUE: sedation, dissociation (due +40 min)`` or ``Scales due in 12 min:
    sedation, dissociation``; overdue ones first."""
    overdue = [d for d in due if d.overdue]
    if overdue:
        names = ", ".join(d.scale.title for d in overdue)
        late = format_age((now - pd.Timestamp(overdue[0].due)).total_seconds())
        return f"Scales OVERDUE by {late.removesuffix(' ago')}: {names}", True
    first = due[0].due
    names = ", ".join(d.scale.title for d in due if d.due == first)
    seconds = (pd.Timestamp(first) - now).total_seconds()
    if seconds <= 0:
        return f"Scales due now: {names}", False
    return f"Scales due in {format_age(seconds).removesuffix(' ago')}: {names}", False
