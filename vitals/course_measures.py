"""The treatment course in the measures a prescriber judges it by: each session's PHQ-9 (with
response and remission against the course's first), its deepest sedation (lowest MOAA/S),
its dissociation peak and the side-effect checklist, beside the BP figures of
``vitals.review.course``.

The PHQ-9 a patient fills before a session belongs to that session; a session without one
shows a blank, never a carried-over score.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from vitals.questionnaires import Phq9, judge_course
from vitals.review import course
from vitals.store import queries

MEASURE_COLUMNS = [
    "phq9_total",
    "phq9_change_pct",
    "phq9_response",
    "phq9_remission",
    "phq9_self_harm",
    "sedation_lowest_moaas",
    "dissociation_peak",
]


def session_measures(events: pd.DataFrame) -> dict[str, Any]:
    """One session's PHQ-9 (the last one entered, if corrected), lowest MOAA/S, highest CADSS."""
    phq = events[events.kind == "phq9"]
    last = Phq9.from_event_text(phq.text.iloc[-1]) if len(phq) else None
    sedation = events[events.kind == "sedation"].value.dropna()
    dissociation = events[events.kind == "dissociation"].value.dropna()
    return {
        "phq9_total": last.total if last else None,
        "phq9_self_harm": bool(last and last.self_harm_flag),
        "sedation_lowest_moaas": float(sedation.min()) if len(sedation) else None,
        "dissociation_peak": float(dissociation.max()) if len(dissociation) else None,
    }


def course_table(
    conn: sqlite3.Connection, patient: str, now: datetime, keep: Path | None = None
) -> pd.DataFrame:
    """``vitals.review.course`` rows with the course measures added, oldest first; response and
    remission are judged over the sessions that have a PHQ-9. ``keep``: the store's path, to
    keep summaries computed here (see ``vitals.review.course``)."""
    rows = course(conn, patient, now, keep)
    if rows.empty:
        return rows
    measures = pd.DataFrame(
        [session_measures(queries.events(conn, int(s))) for s in rows.session], index=rows.index
    )
    rows = pd.concat([rows, measures], axis=1)
    scored = rows.phq9_total.notna()
    points = judge_course([int(t) for t in rows.phq9_total[scored]])
    rows["phq9_change_pct"] = pd.Series([p.change_pct for p in points], index=rows.index[scored])
    rows["phq9_response"] = pd.Series([p.response for p in points], index=rows.index[scored])
    rows["phq9_remission"] = pd.Series([p.remission for p in points], index=rows.index[scored])
    return rows
