"""Plotly figure builders: plain functions of DataFrames, tested without Streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = {"sbp": "#c0392b", "dbp": "#e67e22", "map": "#8e44ad", "hr": "#27ae60", "spo2": "#2980b9"}


def trend_figure(readings: pd.DataFrame, height: int = 260) -> go.Figure:
    """BP on top (systolic/diastolic markers, MAP line), HR and SpO2 below, one time axis.

    Only ``ok`` readings are drawn as patient values; invalid ones never make a line jump.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    ok = readings[readings.quality == "ok"]
    for param, row, mode in (
        ("sbp", 1, "markers"),
        ("dbp", 1, "markers"),
        ("map", 1, "lines+markers"),
        ("hr", 2, "lines"),
        ("spo2", 2, "lines"),
    ):
        series = ok[ok.param == param]
        fig.add_trace(
            go.Scatter(
                x=series.time,
                y=series.value,
                name=param.upper(),
                mode=mode,
                line={"color": COLOURS[param], "width": 1.5},
                marker={"size": 7 if mode == "markers" else 4},
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(title_text="mmHg", row=1, col=1)
    fig.update_yaxes(title_text="bpm / %", row=2, col=1)
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 10, "t": 10, "b": 20},
        legend={"orientation": "h", "y": -0.15},
        uirevision="keep",  # keep zoom and legend choices across live refreshes
    )
    return fig


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
    for param, level, value in thresholds:
        fig.add_hline(
            y=value,
            line_dash="dash",
            line_color=THRESHOLD_COLOURS[level],
            line_width=1,
            annotation_text=f"{param.upper()} {level} {value:g}",
            annotation_font_size=9,
            row=ROW_OF[param],
            col=1,
        )
    for param, value in baselines.items():
        fig.add_hline(
            y=value,
            line_dash="dot",
            line_color="#455a64",
            line_width=1,
            annotation_text=f"{param.upper()} baseline {value:g}",
            annotation_position="bottom left",
            annotation_font_size=9,
            row=ROW_OF[param],
            col=1,
        )
    for e in episodes.itertuples():
        if e.level in EPISODE_FILL:
            x1 = e.ended if pd.notna(e.ended) else end
            fig.add_vrect(x0=e.started, x1=x1, fillcolor=EPISODE_FILL[e.level], line_width=0)
    for ev in events.itertuples():
        fig.add_vline(x=ev.time, line_color="#37474f", line_width=1, line_dash="dot")
        fig.add_annotation(
            x=ev.time,
            y=1.0,
            yref="paper",
            text=ev.kind,
            showarrow=False,
            textangle=-90,
            xanchor="left",
            yanchor="top",
            font={"size": 9},
        )
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


def _line(series: pd.DataFrame, name: str, mode: str, colour: str) -> go.Scatter:
    return go.Scatter(
        x=series.time,
        y=series.value,
        name=name,
        mode=mode,
        line={"color": colour, "width": 1.5},
        marker={"size": 6},
    )
