"""Plotly figure builders: plain functions of DataFrames, tested without Streamlit."""

from __future__ import annotations

from datetime import UTC, tzinfo
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figure_marks import axis_range, label_gap, lanes, spread
from vitals.thinning import keep_indices
from vitals.wording import event_label, monitor_number, param_label

MAX_POINTS = 2000  # per trace; beyond it a long review is thinned, peaks kept

EPISODE_FILL = {
    "critical": "rgba(198,40,40,0.15)",
    "warning": "rgba(239,108,0,0.13)",
    "advisory": "rgba(249,168,37,0.12)",
}
THRESHOLD_COLOURS = {"critical": "#c62828", "warning": "#ef6c00", "advisory": "#f9a825"}
BASELINE_COLOUR = "#455a64"
FIGURE_PX = 640
EVENT_ROW, VITAL_ROWS = 0.12, (0.44, 0.22, 0.22)
ROW_PARAMS = {2: ("sbp", "dbp", "map"), 3: ("hr", "pulse"), 4: ("spo2",)}
ROW_SHARE = {2: VITAL_ROWS[0], 3: VITAL_ROWS[1], 4: VITAL_ROWS[2]}


def detail_figure(
    readings: pd.DataFrame,
    episodes: pd.DataFrame,
    events: pd.DataFrame,
    thresholds: list[tuple[str, str, float]],
    baselines: dict[str, float],
    start: pd.Timestamp,
    end: pd.Timestamp,
    zone: tzinfo | None = None,
) -> go.Figure:
    """One chair over one window: events in lanes on top, then BP (S/D band + MAP), HR and
    SpO₂ on a shared axis of the clinic's local time, with the active thresholds and the
    baselines labelled in the right margin, and alert episodes shaded.

    ``thresholds`` are (param, level, value) of the rules in force; ``baselines`` param → value.
    """
    zone = zone or UTC
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[EVENT_ROW, *VITAL_ROWS],
    )
    ok = readings[readings.quality == "ok"].assign(time=lambda f: wall_clock(f.time, zone))
    sbp, dbp = ok[ok.param == "sbp"], ok[ok.param == "dbp"]
    fig.add_trace(_line(dbp, "DBP", "markers", "#ef6c00"), row=2, col=1)
    band = _line(sbp, "SBP", "markers", "#c62828")
    band.update(
        fill="tonexty",
        fillcolor="rgba(198,40,40,0.08)",
        mode="lines+markers",
        line={"width": 0.5, "color": "#c62828"},
    )
    fig.add_trace(band, row=2, col=1)
    fig.add_trace(_line(ok[ok.param == "map"], "MAP", "lines+markers", "#6a1b9a"), row=2, col=1)
    fig.add_trace(_line(ok[ok.param == "hr"], "HR", "lines", "#2e7d32"), row=3, col=1)
    fig.add_trace(_line(ok[ok.param == "spo2"], "SpO₂", "lines", "#1565c0"), row=4, col=1)
    # Shapes and notes are built as plain dicts and set once: plotly's add_hline/add_vrect
    # revalidate every shape on each call, which costs seconds on a long session.
    shapes, notes = _limits(fig, ok, thresholds, baselines)
    begin, finish = wall_clock(pd.Series([start, end]), zone)
    for e in episodes.itertuples():  # clinical alerts; technical ones are in the alert list
        if e.kind == "clinical" and e.level in EPISODE_FILL:
            x1 = e.ended if pd.notna(e.ended) else end
            x0, x1 = wall_clock(pd.Series([e.started, x1]), zone)
            shapes.append(_span(x0, x1, EPISODE_FILL[e.level]))
    shapes += _events(fig, events, zone, begin, finish)
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_yaxes(title_text="mmHg", row=2, col=1)
    fig.update_yaxes(title_text="HR bpm", row=3, col=1)
    fig.update_yaxes(title_text="SpO₂ %", row=4, col=1)
    fig.update_xaxes(range=[begin, finish])
    fig.update_layout(
        height=FIGURE_PX,
        margin={"l": 50, "r": 118, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.1},
        uirevision="keep",
        hoverlabel={"namelength": -1},
    )
    return fig


def wall_clock(times: pd.Series, zone: tzinfo) -> pd.Series:
    """UTC instants as the clinic's wall-clock times: what plotly's time axis should print."""
    return pd.to_datetime(times, utc=True).dt.tz_convert(zone).dt.tz_localize(None)


def _limits(fig, ok: pd.DataFrame, thresholds: list, baselines: dict) -> tuple[list, list]:
    """Threshold and baseline lines, each labelled in the right margin, labels spread so that
    none overlaps another; each vital row's range holds its data and its limits."""
    marks = [
        (p, v, f"{param_label(p)} {level} {monitor_number(v)}", level) for p, level, v in thresholds
    ]
    marks += [
        (p, v, f"{param_label(p)} baseline {monitor_number(v)}", "baseline")
        for p, v in baselines.items()
    ]
    shapes, notes = [], []
    for row, params in ROW_PARAMS.items():
        mine = [m for m in marks if m[0] in params]
        values = list(ok[ok.param.isin(params)].value) + [v for _, v, _, _ in mine]
        if not values:
            continue
        low, high = axis_range(values)
        fig.update_yaxes(range=[low, high], row=row, col=1)
        gap = label_gap(low, high, FIGURE_PX * ROW_SHARE[row])
        placed = spread([v for _, v, _, _ in mine], gap, low, high)
        for (_, value, text, level), y in zip(mine, placed, strict=True):
            colour = THRESHOLD_COLOURS.get(level, BASELINE_COLOUR)
            dash = "dot" if level == "baseline" else "dash"
            shapes.append(_hline(row, value, {"color": colour, "width": 1, "dash": dash}))
            notes.append(_note(row, y, text, colour))
    return shapes, notes


def _events(fig, events: pd.DataFrame, zone: tzinfo, begin, finish) -> list[dict]:
    """Events as labelled markers in lanes on the top row (the full entry on hover), and a
    faint line down through the vitals at each."""
    shown = events.assign(local=wall_clock(events.time, zone))
    shown = shown[(shown.local >= begin) & (shown.local <= finish)]
    if shown.empty:
        fig.update_yaxes(visible=False, row=1, col=1)
        return []
    labels = [event_label(k) for k in shown.kind]
    span_s = (finish - begin).total_seconds()
    placed = lanes(list((shown.local - begin).dt.total_seconds()), labels, span_s)
    texts = [label if lane is not None else "" for label, lane in zip(labels, placed, strict=True)]
    fig.add_trace(
        go.Scatter(
            x=shown.local,
            y=[lane if lane is not None else 0 for lane in placed],
            mode="markers+text",
            text=texts,
            textposition="middle right",
            textfont={"size": 10},
            marker={"symbol": "triangle-down", "size": 10, "color": "#37474f"},
            customdata=[_event_hover(e) for e in shown.itertuples()],
            hovertemplate="%{customdata}<extra></extra>",
            name="Events",
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(visible=False, range=[2.6, -0.6], fixedrange=True, row=1, col=1)
    return [_event_line(t) for t in shown.local]


def _event_hover(e) -> str:
    """The whole event on hover; what people typed is escaped (plotly renders tags)."""
    parts = [f"{e.local:%H:%M:%S} {event_label(e.kind)}"]
    text = getattr(e, "text", "")
    if isinstance(text, str) and text:
        parts.append(escape(text))
    value = getattr(e, "value", None)
    if value is not None and not pd.isna(value):
        parts.append(f"{value:g}")
    by = getattr(e, "by", "")
    if isinstance(by, str) and by:
        parts.append(f"by {escape(by)}")
    return " · ".join(parts)


def course_figure(course: pd.DataFrame, zone: tzinfo | None = None) -> go.Figure:
    """A patient's course, one column per session: pre-dose BP and how far it rose, how long it
    took to come back, and the alerts and dissociation scores of each session.

    ``course`` holds ``vitals.review.course`` rows, oldest first; a column is labelled with
    the session's place in the course and its day in the clinic's zone ("#2 · 9 Oct").
    """
    days = wall_clock(course.started, zone or UTC)
    labels = [f"#{n} · {day.day} {day:%b}" for n, day in enumerate(days, start=1)]
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.5, 0.25, 0.25],
        specs=[[{}], [{}], [{"secondary_y": True}]],
    )
    for param, colour in (("sbp", "#c62828"), ("dbp", "#ef6c00")):
        name = param.upper()
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=course[f"baseline_{param}"],
                name=f"{name} pre-dose",
                mode="markers",
                marker={"symbol": "circle-open", "size": 10, "color": colour},
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=course[f"peak_{param}"],
                name=f"{name} peak",
                mode="markers",
                marker={"symbol": "triangle-up", "size": 11, "color": colour},
                customdata=course[f"rise_{param}"],
                hovertemplate=f"{name} peak %{{y}} (+%{{customdata}} mmHg)<extra></extra>",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [0] * len(course),
                    "arrayminus": course[f"rise_{param}"].fillna(0),
                    "color": colour,
                    "thickness": 1,
                    "width": 0,
                },
            ),
            row=1,
            col=1,
        )
    back = course.back_to_baseline_min
    fig.add_trace(
        go.Bar(
            x=labels,
            y=back,
            text=[None if pd.isna(v) else f"{v:g} min" for v in back],
            textposition="outside",
            name="min after dose until SBP back near baseline",
            marker_color="#455a64",
        ),
        row=2,
        col=1,
    )
    not_back = course.still_raised_at_end.astype(bool)
    fig.add_trace(
        go.Scatter(
            x=[label for label, missing in zip(labels, not_back, strict=True) if missing],
            y=[0] * int(not_back.sum()),
            text=["not back by the end"] * int(not_back.sum()),
            mode="markers+text",
            textposition="top center",
            marker={"symbol": "x", "size": 10, "color": "#c62828"},
            name="SBP not back near baseline by the end of the session",
        ),
        row=2,
        col=1,
    )
    for level in ("advisory", "warning", "critical"):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=course[f"alerts_{level}"],
                name=f"{level} alerts",
                marker_color=THRESHOLD_COLOURS[level],
            ),
            row=3,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=course.dissociation_max,
            name="dissociation score (max)",
            mode="lines+markers",
            line={"color": "#6a1b9a"},
        ),
        row=3,
        col=1,
        secondary_y=True,
    )
    fig.update_yaxes(title_text="mmHg", row=1, col=1)
    fig.update_yaxes(title_text="min", row=2, col=1)
    fig.update_yaxes(title_text="alerts", row=3, col=1)
    fig.update_yaxes(title_text="score", row=3, col=1, secondary_y=True, rangemode="tozero")
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_layout(
        barmode="stack",
        height=620,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.08},
    )
    return fig


def thin(series: pd.DataFrame, most: int = MAX_POINTS) -> pd.DataFrame:
    """At most ``most`` points of a trace, every peak and dip kept (the browser draws 2 000
    points as fast as 200)."""
    if len(series) <= most:
        return series
    x = ((series.time - series.time.iloc[0]) // pd.Timedelta(1, "ms")).to_numpy(dtype=np.int64)
    return series.iloc[keep_indices(x, series.value.to_numpy(dtype=float), most)]


def _line(series: pd.DataFrame, name: str, mode: str, colour: str) -> go.Scatter:
    series = thin(series)
    return go.Scatter(
        x=series.time,
        y=series.value,
        name=name,
        mode=mode,
        line={"color": colour, "width": 1.5},
        marker={"size": 6},
    )


def _axis(row: int, axis: str) -> str:
    return axis if row == 1 else f"{axis}{row}"


def _hline(row: int, value: float, line: dict) -> dict:
    x, y = f"{_axis(row, 'x')} domain", _axis(row, "y")
    return {
        "type": "line",
        "xref": x,
        "yref": y,
        "x0": 0,
        "x1": 1,
        "y0": value,
        "y1": value,
        "line": line,
    }


def _note(row: int, y: float, text: str, colour: str) -> dict:
    """A limit's label in the right margin, at its (spread) height."""
    return {
        "x": 1.0,
        "y": y,
        "xref": "paper",
        "yref": _axis(row, "y"),
        "text": text,
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "middle",
        "xshift": 4,
        "font": {"size": 10, "color": colour},
    }


def _span(start, end, colour: str) -> dict:
    """An alert episode shaded across every row."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": start,
        "x1": end,
        "y0": 0,
        "y1": 1,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": "below",
    }


def _event_line(time) -> dict:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": time,
        "x1": time,
        "y0": 0,
        "y1": 1,
        "line": {"color": "rgba(55,71,79,0.45)", "width": 1, "dash": "dot"},
        "layer": "below",
    }
