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
