"""A session report as PDF: summary, chart, events, the alert and acknowledgment log and the
alarms forwarded to phones, mail or webhooks.

For the clinical record and the auditor: one session per report, starting on its own page.
Times are the clinic's local wall-clock time (the zone is named once, at the top), with the
date wherever an entry is not on the session's own day, so an episode that ran past midnight
reads as ending the next day, never as ending before it started. The chart is drawn with the
PDF's own lines (no browser, no image renderer): systolic and diastolic NIBP as points joined
by a band, heart rate as a line, over the clinic's clock. The built-in PDF fonts are Latin-1,
so symbols such as ≥ are spelled out.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from vitals.clinic_time import clinic_zone, clock, date_and_clock, local, span, zone_name
from vitals.lazy import lazy
from vitals.reading import Param, Quality
from vitals.store import queries
from vitals.store.chain import verify
from vitals.store.notifications import session_notifications
from vitals.thinning import keep_indices
from vitals.verdict import discharge_verdict, session_baselines
from vitals.wording import (
    alert_summary,
    chair_label,
    event_label,
    level_label,
    param_label,
    protocol_label,
    with_unit,
)

np = lazy("numpy")
pd = lazy("pandas")
fpdf = lazy("fpdf")
if TYPE_CHECKING:
    from fpdf import FPDF

SPELLED = {"≥": ">=", "≤": "<=", "—": "-", "–": "-", "₂": "2", "·": "-", "→": "->", "−": "-"}
CHART_W, CHART_H = 180, 60
CHART_POINTS = 1000  # about six a millimetre: more would only make the file heavier
TICK_STEPS_MIN = (5, 10, 15, 30, 60, 120, 180, 360)  # clock ticks, at most about eight


def session_report(
    conn: sqlite3.Connection, session_id: int, out: Path, zone: tzinfo | None = None
) -> int:
    """Write the report of one session to ``out`` in ``zone`` (default: this machine's);
    returns its page count."""
    zone = zone or clinic_zone(None)
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ValueError(f"no session {session_id}")
    end = session.ended or datetime.now(session.started.tzinfo)
    readings = queries.stored_readings(conn, session.chair, session.started, end)
    pdf = fpdf.FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    _title(pdf, conn, session, zone)
    _line(pdf, f"Audit record (not the readings): {verify(conn).summary()}", 8)
    pdf.ln(1)
    _summary(pdf, conn, session, readings, end, zone)
    _chart(pdf, readings, session.started, end, zone)
    _events(pdf, queries.events(conn, session.id), session.started, zone)
    _alerts(pdf, queries.episodes(conn, session=session.id), session.started, zone)
    _notifications(
        pdf,
        session_notifications(conn, session.id, session.chair, session.started, end),
        session.started,
        zone,
    )
    pdf.output(str(out))
    return pdf.pages_count


def _text(value: object) -> str:
    text = str(value)
    for symbol, spelled in SPELLED.items():
        text = text.replace(symbol, spelled)
    return text.encode("latin-1", "replace").decode("latin-1")


def _line(pdf: FPDF, text: str, size: int = 9, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, _text(text), new_x="LMARGIN", new_y="NEXT")


def _title(pdf: FPDF, conn, session, zone: tzinfo) -> None:
    chair = queries.chair_names(conn).get(session.chair) or chair_label(session.chair)
    _line(pdf, f"Chairside session report - {chair} - patient {session.patient}", 14, True)
    _line(pdf, "Monitoring aid only - not a certified medical device.", 8)
    _line(pdf, f"Times are local time, {zone_name(zone)}.", 8)
    pdf.ln(2)


def _summary(pdf: FPDF, conn, session, readings, end: datetime, zone: tzinfo) -> None:
    _line(pdf, "Summary", 11, True)
    started = f"{date_and_clock(session.started, zone)} by {session.started_by}"
    ended = clock(session.ended, zone, day=session.started) if session.ended else "still open"
    _line(pdf, f"Protocol: {protocol_label(session.protocol)}; started {started}; ended {ended}.")
    dose = (
        clock(session.dose_time, zone, day=session.started, seconds=True)
        if session.dose_time
        else "not recorded"
    )
    mg = f"{session.dose_mg:g} mg" if session.dose_mg else "not recorded"
    kg = f"{session.weight_kg:g} kg" if session.weight_kg else "not recorded"
    _line(pdf, f"Dose time: {dose}; dose {mg}; weight {kg}.")
    for base in session_baselines(conn, session).values():
        shown = "none" if base.value is None else with_unit(base.param.value, base.value)
        _line(pdf, f"Baseline {param_label(base.param.value)} {shown} ({base.source}).")
    for param in (Param.SBP, Param.DBP, Param.HR, Param.SPO2):
        _line(pdf, _extreme(readings, param, session.dose_time or session.started, zone))
    _line(pdf, f"Discharge: {discharge_verdict(conn, session.id, end)}.")
    pdf.ln(2)


def _extreme(readings, param: Param, dose: datetime, zone: tzinfo) -> str:
    valid = [
        r for r in readings if r.param is param and r.quality is Quality.OK and r.value is not None
    ]
    if not valid:
        return f"{param_label(param.value)}: no valid reading."
    pick = min if param is Param.SPO2 else max
    top = pick(valid, key=lambda r: r.value)
    minutes = (top.time - dose).total_seconds() / 60
    word = "lowest" if param is Param.SPO2 else "peak"
    when = f"{minutes:+.0f} min from the dose ({clock(top.time, zone, day=dose)})"
    return f"{param_label(param.value)} {word} {with_unit(param.value, top.value)} at {when}."


def _chart(pdf: FPDF, readings, start: datetime, end: datetime, zone: tzinfo) -> None:
    _line(pdf, "Trend (NIBP systolic/diastolic in red, heart rate in green; mmHg / bpm)", 11, True)
    x0, y0 = pdf.get_x() + 6, pdf.get_y() + 2
    span_s = max(60.0, (end - start).total_seconds())
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(x0, y0, CHART_W, CHART_H)
    low, high = 30.0, 220.0

    def xy(time: datetime, value: float) -> tuple[float, float]:
        x = x0 + (time - start).total_seconds() / span_s * CHART_W
        y = y0 + CHART_H - (min(max(value, low), high) - low) / (high - low) * CHART_H
        return x, y

    pdf.set_font("Helvetica", "", 6)
    for mark in (60, 100, 140, 180):
        _, y = xy(start, mark)
        pdf.set_draw_color(225, 225, 225)
        pdf.line(x0, y, x0 + CHART_W, y)
        pdf.text(x0 - 5, y + 1, str(mark))
    _time_axis(pdf, start, span_s, zone, x0, y0)
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    nibp = {}
    for r in valid:
        if r.param in (Param.SBP, Param.DBP):
            nibp.setdefault(r.time, {})[r.param] = r.value
    pdf.set_draw_color(198, 40, 40)
    for time, pair in nibp.items():
        if len(pair) == 2:
            pdf.line(*xy(time, pair[Param.SBP]), *xy(time, pair[Param.DBP]))
    pdf.set_draw_color(46, 125, 50)
    hr = [r for r in valid if r.param is Param.HR]
    ms = np.array([(r.time - start).total_seconds() * 1000 for r in hr], dtype=np.int64)
    values = np.array([r.value for r in hr], dtype=float)
    drawn = [xy(hr[i].time, hr[i].value) for i in keep_indices(ms, values, CHART_POINTS)]
    for (ax, ay), (bx, by) in pairwise(drawn):
        pdf.line(ax, ay, bx, by)
    pdf.set_xy(pdf.l_margin, y0 + CHART_H + 5)
    pdf.ln(2)


def clock_ticks(start: datetime, span_s: float, zone: tzinfo) -> list[datetime]:
    """Round local clock times across the chart, about every sixth of it (":00", ":15"...)."""
    step = next((m for m in TICK_STEPS_MIN if span_s / 60 / m <= 8), TICK_STEPS_MIN[-1])
    first = local(start, zone).replace(second=0, microsecond=0)
    first += timedelta(minutes=(-first.minute) % step)
    ticks, tick = [], first
    while (tick - start).total_seconds() <= span_s:
        ticks.append(tick)
        tick += timedelta(minutes=step)
    return ticks


def _time_axis(pdf: FPDF, start: datetime, span_s: float, zone: tzinfo, x0, y0) -> None:
    """Clock times under the chart, dated where the day is not the session's first."""
    pdf.set_draw_color(120, 120, 120)
    for tick in clock_ticks(start, span_s, zone):
        x = x0 + (tick - start).total_seconds() / span_s * CHART_W
        pdf.line(x, y0 + CHART_H, x, y0 + CHART_H + 1)
        label = _text(clock(tick, zone, day=start))
        pdf.text(x - pdf.get_string_width(label) / 2, y0 + CHART_H + 3.5, label)


def _events(pdf: FPDF, events: pd.DataFrame, day: datetime, zone: tzinfo) -> None:
    _line(pdf, "Events", 11, True)
    if events.empty:
        _line(pdf, "No events were logged.")
    for e in events.itertuples():
        value = "" if pd.isna(e.value) else f" ({e.value:g})"
        text = f" - {e.text}" if e.text else ""
        when = clock(e.time.to_pydatetime(), zone, day=day, seconds=True)
        _line(pdf, f"{when} {event_label(e.kind)}{value}{text} - by {e.by}", 8)
    pdf.ln(2)


def _alerts(pdf: FPDF, episodes: pd.DataFrame, day: datetime, zone: tzinfo) -> None:
    _line(pdf, "Alerts and acknowledgments", 11, True)
    if episodes.empty:
        _line(pdf, "No alerts were raised.")
    for e in episodes.itertuples():
        ended = None if pd.isna(e.ended) else e.ended.to_pydatetime()
        when = span(e.started.to_pydatetime(), ended, zone, day=day, seconds=True)
        acked = (
            f"acknowledged by {e.acked_by} at "
            f"{clock(e.acked.to_pydatetime(), zone, day=day, seconds=True)}"
            + (f' ("{e.acked_comment}")' if e.acked_comment else "")
            if isinstance(e.acked_by, str)
            else "not acknowledged"
        )
        kind = "" if e.kind == "clinical" else " (technical)"
        level = level_label(e.level).upper()
        _line(pdf, f"{when} {level}{kind}: {alert_summary(e)}; {acked}", 8)


def _notifications(pdf: FPDF, sent: pd.DataFrame, day: datetime, zone: tzinfo) -> None:
    _line(pdf, "Alarms forwarded (notifications)", 11, True)
    if sent.empty:
        _line(pdf, "No alarm was forwarded.")
    for n in sent.itertuples():
        outcome = "delivered" if n.delivered else f"FAILED ({n.error})"
        acked = f"; acknowledged by {n.acked_by}" if isinstance(n.acked_by, str) else ""
        when = clock(n.sent.to_pydatetime(), zone, day=day, seconds=True)
        text = f"{when} {level_label(n.level).upper()} {n.step} -> {n.channel}, attempt {n.attempt}"
        _line(pdf, f"{text}: {outcome}{acked} - {n.reason}", 8)
