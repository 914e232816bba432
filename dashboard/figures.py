"""Plotly figure builders: plain functions of DataFrames, tested without Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vitals.thinning import keep_indices

MAX_POINTS = 2000  # per trace; beyond it a long review is thinned, peaks kept

EPISODE_FILL = {
    "critical": "rgba(198,40,40,0.15)",
    "warning": "rgba(239,108,0,0.13)",
    "advisory": "rgba(249,168,37,0.12)",
}
THRESHOLD_COLOURS = {"critical": "#c62828", "warning": "#ef6c00", "advisory": "#f9a825"}
ROW_OF = {"sbp": 1, "dbp": 1, "map": 1, "hr": 2, "pulse": 2, "spo2": 3}


def detail_figure(
    readings: pd.DataFrame,
    episodes: pd.DataFrame,
    events: pd.DataFrame,
    thresholds: list[tuple[str, str, float]],
    baselines: dict[str, float],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> go.Figure:
    """One chair over one window: BP (S/D band + MAP), HR, SpO2 on a shared time axis, with the
    active thresholds, the baseline, alert episodes shaded and events marked.

    ``thresholds`` are (param, level, value) of the rules in force; ``baselines`` param → value.
    """
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.5, 0.25, 0.25]
    )
    ok = readings[readings.quality == "ok"]
    sbp, dbp = ok[ok.param == "sbp"], ok[ok.param == "dbp"]
    fig.add_trace(_line(dbp, "DBP", "markers", "#ef6c00"), row=1, col=1)
    band = _line(sbp, "SBP", "markers", "#c62828")
    band.update(
        fill="tonexty",
        fillcolor="rgba(198,40,40,0.08)",
        mode="lines+markers",
        line={"width": 0.5, "color": "#c62828"},
    )
    fig.add_trace(band, row=1, col=1)
    fig.add_trace(_line(ok[ok.param == "map"], "MAP", "lines+markers", "#6a1b9a"), row=1, col=1)
    fig.add_trace(_line(ok[ok.param == "hr"], "HR", "lines", "#2e7d32"), row=2, col=1)
    fig.add_trace(_line(ok[ok.param == "spo2"], "SpO₂", "lines", "#1565c0"), row=3, col=1)
    # Shapes and notes are built as plain dicts and set once: plotly's add_hline/add_vrect
    # revalidate every shape on each call, which costs seconds on a long session.
    shapes, notes = [], []
    for param, level, value in thresholds:
        line = {"color": THRESHOLD_COLOURS[level], "width": 1, "dash": "dash"}
        shapes.append(_hline(ROW_OF[param], value, line))
        notes.append(_note(ROW_OF[param], value, f"{param.upper()} {level} {value:g}", "right"))
    for param, value in baselines.items():
        line = {"color": "#455a64", "width": 1, "dash": "dot"}
        shapes.append(_hline(ROW_OF[param], value, line))
        notes.append(_note(ROW_OF[param], value, f"{param.upper()} baseline {value:g}", "left"))
    for e in episodes.itertuples():
        if e.level in EPISODE_FILL:
            x1 = e.ended if pd.notna(e.ended) else end
            shapes.append(_span(e.started, x1, EPISODE_FILL[e.level]))
    for ev in events.itertuples():
        shapes.append(_event_line(ev.time))
        notes.append(_event_note(ev.time, ev.kind))
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_yaxes(title_text="mmHg", row=1, col=1)
    fig.update_yaxes(title_text="HR bpm", row=2, col=1)
    fig.update_yaxes(title_text="SpO₂ %", row=3, col=1)
    fig.update_xaxes(range=[start, end])
    fig.update_layout(
        height=620,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.06},
        uirevision="keep",
    )
    return fig


def course_figure(course: pd.DataFrame) -> go.Figure:
    """A patient's course, one column per session: pre-dose BP and how far it rose, how long it
    took to come back, and the alerts and dissociation scores of each session.

    ``course`` holds ``vitals.review.course`` rows, oldest first.
    """
    labels = [f"#{s} · {t:%d %b}" for s, t in zip(course.session, course.started, strict=True)]
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


def _note(row: int, value: float, text: str, side: str) -> dict:
    x, y = f"{_axis(row, 'x')} domain", _axis(row, "y")
    return {
        "x": 1 if side == "right" else 0,
        "y": value,
        "xref": x,
        "yref": y,
        "text": text,
        "showarrow": False,
        "xanchor": side,
        "yanchor": "bottom",
        "font": {"size": 9},
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
        "line": {"color": "#37474f", "width": 1, "dash": "dot"},
    }


def _event_note(time, kind: str) -> dict:
    return {
        "x": time,
        "y": 1.0,
        "xref": "x",
        "yref": "paper",
        "text": kind,
        "showarrow": False,
        "textangle": -90,
        "xanchor": "left",
        "yanchor": "top",
        "font": {"size": 9},
    }
