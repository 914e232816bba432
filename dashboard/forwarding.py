"""Alarm forwarding on the station: say "I am watching", shout when forwarding is broken, and
list in the review what was forwarded.

Each open overview records a station heartbeat (its own id, the nurse signed in) every
``STATION_EVERY_S``, so the recorder's notifier knows whether anyone is looking; when none
is, it forwards "no station is watching" to the phones. The banner tells the nurse when the
phones would not be reached: a failing channel, a config without channels, a notifier that
stopped. The review lists every notification sent about a session, delivered or failed, with
who acknowledged the alarm.
"""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from dashboard.auth import current_user
from dashboard.source import db_path, read_store
from dashboard.tiles import format_age
from vitals.errors import ChairsideError
from vitals.store import queries
from vitals.store.notifications import session_notifications, station_seen

STATION_EVERY_S = 10.0  # the notifier calls a station gone after 30 s without a beat
NOTIFIER_STALE_S = 15.0
STATION_KEY = "station_id"
BEAT_KEY = "station_beat_at"


def forwarding_banner(status: dict | None, now: pd.Timestamp) -> str | None:
    """Why an alarm might not reach a phone, in a nurse's words; None when all is well or
    forwarding was never set up on this store."""
    if status is None:
        return None
    if status["stopped"] is not None:
        ago = format_age((now - pd.Timestamp(status["stopped"])).total_seconds())
        return f"Alarm forwarding to phones stopped {ago}: alarms reach only the screens."
    silent = (now - pd.Timestamp(status["beat"])).total_seconds()
    if silent > NOTIFIER_STALE_S:
        return f"Alarm forwarding not running (last sign {format_age(silent)}): screens only."
    problems = [status["problem"]] if status["problem"] else []
    for name, result in sorted(status["channels"].items()):
        if result.get("ok") is False:
            problems.append(f"channel {name} is failing ({result['error']}); retrying")
    return "Alarm forwarding: " + "; ".join(problems) if problems else None


def station_heartbeat(now: pd.Timestamp) -> None:
    """Tell the notifier this overview is open (at most every ``STATION_EVERY_S``)."""
    user = current_user()
    last = st.session_state.get(BEAT_KEY)
    if user is None or (last is not None and (now - last).total_seconds() < STATION_EVERY_S):
        return
    station = st.session_state.setdefault(STATION_KEY, f"station-{uuid.uuid4().hex[:8]}")
    try:
        station_seen(db_path(), station, user, now.to_pydatetime())
    except ChairsideError as exc:
        st.error(f"This screen cannot tell the recorder it is watching: {exc}")
        return
    st.session_state[BEAT_KEY] = now


LOG_COLUMNS = {
    "sent": "Sent",
    "level": "Level",
    "reason": "Alarm",
    "step": "Ladder step",
    "channel": "Channel",
    "outcome": "Outcome",
    "acked_by": "Acknowledged by",
    "acked": "Acknowledged",
}


def notification_log(session_id: int) -> None:
    """The session's forwarded alarms (the audit), under its alert log."""
    log = read_store(lambda conn: _session_log(conn, session_id))
    if log is None:
        return
    st.subheader("Notifications sent")
    if log.empty:
        st.caption("No alarm of this session was forwarded to a phone, mail or webhook.")
        return
    log["outcome"] = [
        f"delivered (attempt {a})" if ok else f"failed (attempt {a}): {error}"
        for ok, a, error in zip(log.delivered, log.attempt, log.error, strict=True)
    ]
    st.dataframe(log[list(LOG_COLUMNS)].rename(columns=LOG_COLUMNS), hide_index=True)


def _session_log(conn, session_id: int) -> pd.DataFrame:
    session = queries.session_by_id(conn, session_id)
    end = session.ended or pd.Timestamp.now(tz="UTC").to_pydatetime()
    return session_notifications(conn, session_id, session.chair, session.started, end)
