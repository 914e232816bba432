"""What a chair tile says: values with their ages, staleness and the link banner.

Plain functions over query results, so the wording is tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.source import zone
from vitals.clinic_time import clock
from vitals.rules import Level
from vitals.wording import alert_summary, link_problem, monitor_number

# Beyond these ages a value is greyed: continuous values arrive every few seconds, NIBP on a
# cuff cycle of up to 15 minutes in ketamine protocols.
STALE_AFTER_S = {"hr": 30, "pulse": 30, "spo2": 30, "sbp": 20 * 60, "dbp": 20 * 60, "map": 20 * 60}
RECORDER_STALE_S = 5
# Beyond a chair's own silence limit, this much more before the page calls it blind: the
# commit and the page's one-second refresh must not make a live chair flicker.
CURRENT_GRACE_S = 3.0


@dataclass(frozen=True)
class Shown:
    """One value as displayed: text, its age in words, and whether it is old or invalid."""

    text: str
    age: str
    stale: bool


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def by_param(latest: pd.DataFrame) -> dict[str, Any]:
    """One chair's latest readings keyed by parameter (rows with .value, .quality, .time)."""
    return {row.param: row for row in latest.itertuples(index=False)}


def shown_value(latest: Mapping[str, Any], param: str, now: pd.Timestamp) -> Shown:
    r = latest.get(param)
    if r is None:
        return Shown("—", "never received", True)
    age_s = (now - r.time).total_seconds()
    text = "—" if pd.isna(r.value) or r.quality != "ok" else monitor_number(r.value)
    if r.quality != "ok":
        text += f" ({r.quality})"
    return Shown(text, format_age(age_s), age_s > STALE_AFTER_S[param])


def shown_nibp(latest: Mapping[str, Any], now: pd.Timestamp) -> Shown:
    sbp, dbp, mean = (shown_value(latest, p, now) for p in ("sbp", "dbp", "map"))
    if sbp.age == "never received":
        return sbp
    return Shown(f"{sbp.text}/{dbp.text} ({mean.text})", sbp.age, sbp.stale)


def recorder_banner(beat: dict | None, now: pd.Timestamp) -> str | None:
    """Why the numbers may not be live, or None when the recorder is beating."""
    if beat is None:
        return "No recorder has written to this database yet: values are not live."
    if beat["stopped"] is not None:
        ago = format_age((now - beat["stopped"]).total_seconds())
        return f"Recorder stopped {ago}: values are not live."
    silent = (now - beat["beat"]).total_seconds()
    if silent > RECORDER_STALE_S:
        return f"Recorder not running: last heartbeat {format_age(silent)}. Values are not live."
    return None


def store_banner(status: dict | None, now: pd.Timestamp) -> str | None:
    """The recorder is alive but the database refuses its writes (told in the lock file,
    which it can still rewrite when the database cannot be written)."""
    fault = (status or {}).get("store")
    if not fault or now.timestamp() - float(status.get("beat") or 0) > RECORDER_STALE_S:
        return None
    since = clinic_time(pd.Timestamp(fault["since"], unit="s", tz="UTC"))
    lost = f" {fault['lost']} readings were LOST." if fault.get("lost") else ""
    return (
        f"The database refuses the recorder's writes since {since} ({fault['reason']}): "
        f"values are not live; {fault['waiting']} readings are kept and will be written in "
        f"order once it accepts.{lost}"
    )


LINK_SEVERITY = {"acquisition failed": 4, "disconnected": 3, "no data": 2, "connecting": 1}


def link_banner(states: list | None) -> str | None:
    """The worst link of a chair's devices in a nurse's words, or None when every device
    delivers data.

    ``states`` are the chair's device-state rows; a device is named when there are several.
    The recorder's own message (a serial port's error text) stays in the store for IT.
    """
    if not states:
        return "No monitor has reported yet: values are not live."
    bad = [s for s in states if s.state in LINK_SEVERITY]
    if not bad:
        return None
    worst = max(bad, key=lambda s: LINK_SEVERITY[s.state])
    device = worst.device if len(states) > 1 and worst.device else None
    what, check = link_problem(worst.state, device)
    return f"{what} since {clock(worst.since, zone())}: {check}."


LEVEL_ORDER = {"advisory": 1, "warning": 2, "critical": 3}


def alert_lines(episodes: pd.DataFrame) -> list[tuple[str, str]]:
    """(level, text) for each episode needing a nurse, most severe first.

    Text, not colour alone, carries the level; acknowledged ones say by whom.
    """
    lines = []
    ranked = episodes.assign(rank=episodes.level.map(LEVEL_ORDER)).sort_values(
        ["rank", "started"], ascending=[False, True]
    )
    for e in ranked.itertuples():
        kind = "" if e.kind == "clinical" else "technical: "
        state = "values recovered, " if pd.notna(e.ended) else ""
        ack = _acknowledged(e) if isinstance(e.acked_by, str) else "NOT acknowledged"
        priority = Level.parse(e.level).iec_priority  # IEC 60601-1-8 wording
        text = (
            f"{e.level.upper()} ({priority} priority) — {kind}{alert_summary(e)} "
            f"(since {clock(e.started, zone())}; {state}{ack})"
        )
        lines.append((e.level, text))
    return lines


def _acknowledged(episode) -> str:
    """Who acknowledged, and when on the clinic's clock (the audit row holds both)."""
    when = getattr(episode, "acked", pd.NaT)
    at = f" at {clock(when, zone())}" if pd.notna(when) else ""
    return f"acknowledged by {episode.acked_by}{at}"


def clinic_time(moment: pd.Timestamp) -> str:
    """HH:MM on the clinic's clock (``--timezone``, else the machine's zone)."""
    return pd.Timestamp(moment).tz_convert(zone()).strftime("%H:%M")


def recorder_alive(beat: dict | None, now: pd.Timestamp) -> bool:
    if beat is None or beat["stopped"] is not None:
        return False
    return (now - beat["beat"]).total_seconds() <= RECORDER_STALE_S


def newest_data(latest: Mapping[str, Any]) -> pd.Timestamp | None:
    """When the chair last delivered a value a nurse can use (valid, not an artefact)."""
    times = [r.time for r in latest.values() if r.quality == "ok" and pd.notna(r.value)]
    return max(times) if times else None


def blind_since(
    latest: Mapping[str, Any], limit_s: float, alive: bool, now: pd.Timestamp
) -> pd.Timestamp | bool | None:
    """Judged by the page itself, so it holds when the recorder is down or wedged: the time
    since which the chair has no current data; True when it never had any; None when it is
    current (a valid reading younger than the chair's silence limit, and a live recorder)."""
    newest = newest_data(latest)
    if newest is None:
        return True
    fresh = (now - newest).total_seconds() <= limit_s + CURRENT_GRACE_S
    return None if fresh and alive else newest


def blind_label(since: pd.Timestamp | bool) -> str:
    if since is True:
        return "NO CURRENT DATA — no readings yet"
    return f"NO CURRENT DATA — since {clinic_time(since)}"


def recorder_line(beat: dict | None, status: dict | None, now: pd.Timestamp) -> str | None:
    """Which recorder writes this database (host, pid, since), or why none does."""
    if beat is None:
        return None
    since = clinic_time(beat["started"])
    who = f"pid {beat['pid']} on {beat.get('host') or 'this computer'}"
    if beat["stopped"] is not None:
        return f"Recorder {who} stopped at {clinic_time(beat['stopped'])}."
    line = f"Recording: {who}, since {since}."
    fault = (status or {}).get("store")
    if fault:
        started = pd.Timestamp(fault["since"], unit="s", tz="UTC")
        line += (
            f" The database refuses writes since {clinic_time(started)} ({fault['reason']}); "
            f"{fault['waiting']} readings are kept and will be written in order."
        )
    return line
