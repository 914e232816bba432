"""Tables as a nurse reads them: labelled columns, the deciding column first, local times,
values rounded as a monitor shows them, "—" for nothing, and no column a page cannot hold.

Builders turn query frames into display frames (plain pandas, tested without Streamlit);
``show`` draws one with its column configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

import pandas as pd
import streamlit as st

from vitals.clinic_time import clock
from vitals.wording import alert_summary, event_label, level_label, monitor_number

Columns = Mapping[str, object]  # display column -> st.column_config entry (or a label)
DAY_AND_TIME = "D MMM YYYY, HH:mm"  # moment.js, as st.column_config formats dates


def show(frame: pd.DataFrame, columns: Columns, key: str | None = None) -> None:
    """Only the configured columns, in their order; empty cells read "—", never "None"."""
    st.dataframe(
        frame[list(columns)] if not frame.empty else pd.DataFrame(columns=list(columns)),
        column_config=dict(columns),
        column_order=list(columns),
        hide_index=True,
        width="stretch",
        placeholder="—",
        key=key,
    )


def local_datetimes(series: pd.Series, zone: tzinfo) -> pd.Series:
    """UTC instants in the clinic's zone, for a DatetimeColumn (sortable, shown without an
    offset)."""
    return pd.to_datetime(series, utc=True).dt.tz_convert(zone)


def _clock(value, zone: tzinfo, day, seconds: bool = True) -> str | None:
    if value is None or pd.isna(value):
        return None
    return clock(pd.Timestamp(value).to_pydatetime(), zone, day=day, seconds=seconds)


def episode_rows(
    episodes: pd.DataFrame, zone: tzinfo, day=None, newest_first: bool = True
) -> pd.DataFrame:
    """One row per alert episode, level first, then what and when: clinical alerts before
    technical ones, each newest first (live) or in order (a session's log)."""
    ordered = episodes.assign(technical=episodes.kind != "clinical").sort_values(
        ["technical", "started"], ascending=[True, not newest_first]
    )
    rows = [
        {
            "Level": level_label(e.level) + ("" if e.kind == "clinical" else " (technical)"),
            "Alert": alert_summary(e),
            "Started": _clock(e.started, zone, day),
            "Ended": _clock(e.ended, zone, day) or "still open",
            "Acknowledged": _acknowledged(e, zone, day),
        }
        for e in ordered.itertuples()
    ]
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def _acknowledged(e, zone: tzinfo, day) -> str:
    if not isinstance(e.acked_by, str):
        return "not acknowledged" if e.kind == "clinical" and e.level != "advisory" else ""
    said = f": “{e.acked_comment}”" if e.acked_comment else ""  # '' when none was given
    return f"{e.acked_by}, {_clock(e.acked, zone, day, seconds=False)}{said}"


EPISODE_COLUMNS: Columns = {
    "Level": st.column_config.TextColumn(width="small"),
    "Alert": st.column_config.TextColumn(width="large"),
    "Started": st.column_config.TextColumn(width="small"),
    "Ended": st.column_config.TextColumn(width="small"),
    "Acknowledged": st.column_config.TextColumn("Acknowledged by", width="medium"),
}


def event_rows(events: pd.DataFrame, zone: tzinfo, day=None) -> pd.DataFrame:
    """The session's events, oldest first, as logged: time, what, details, who."""
    rows = [
        {
            "Time": _clock(e.time, zone, day),
            "Event": event_label(e.kind),
            "Details": _details(e.text, e.value),
            "By": e.by,
        }
        for e in events.itertuples()
    ]
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


def _details(text, value) -> str:
    parts = [text] if isinstance(text, str) and text else []
    if value is not None and not pd.isna(value):
        parts.append(f"{value:g}")
    return " · ".join(parts)


EVENT_COLUMNS: Columns = {
    "Time": st.column_config.TextColumn(width="small"),
    "Event": st.column_config.TextColumn(width="medium"),
    "Details": st.column_config.TextColumn(width="large"),
    "By": st.column_config.TextColumn(width="medium"),
}


def vital(value) -> str | None:
    """A vital sign as the monitor shows it, or None (drawn as "—")."""
    if value is None or pd.isna(value):
        return None
    return monitor_number(value)
