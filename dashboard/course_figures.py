"""The course in the measures of the treatment: PHQ-9 across the weeks with response and
remission marked, beside each session's BP rise, sedation and dissociation peaks."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vitals.questionnaires import REMISSION_BELOW


def course_measures_figure(rows: pd.DataFrame) -> go.Figure:
    """``rows`` are ``vitals.course_measures.course_table`` rows, oldest first."""
    dates = rows.started
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[0.45, 0.25, 0.3],
        specs=[[{}], [{}], [{"secondary_y": True}]],
    )
    scored = rows[rows.phq9_total.notna()]
    fig.add_trace(
        go.Scatter(
            x=scored.started,
            y=scored.phq9_total,
            name="PHQ-9 total",
            mode="lines+markers",
            line={"color": "#1565c0"},
        ),
        row=1,
        col=1,
    )
    for column, name, symbol, colour in (
        ("phq9_response", "response (at least 50 % below the first)", "star", "#2e7d32"),
        ("phq9_remission", f"remission (below {REMISSION_BELOW})", "diamond", "#00897b"),
    ):
        hit = scored[scored[column].astype(bool)]
        fig.add_trace(
            go.Scatter(
                x=hit.started,
                y=hit.phq9_total,
                name=name,
                mode="markers",
                marker={"symbol": symbol, "size": 16, "color": colour},
            ),
            row=1,
            col=1,
        )
    fig.add_hline(y=REMISSION_BELOW, line_dash="dot", line_color="#00897b", row=1, col=1)
    fig.add_trace(
        go.Bar(x=dates, y=rows.rise_sbp, name="SBP rise above pre-dose", marker_color="#c62828"),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=rows.dissociation_peak,
            name="dissociation peak (CADSS)",
            mode="lines+markers",
            line={"color": "#6a1b9a"},
        ),
        row=3,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=rows.sedation_lowest_moaas,
            name="deepest sedation (lowest MOAA/S, 5 = alert)",
            mode="lines+markers",
            line={"color": "#ef6c00", "dash": "dash"},
        ),
        row=3,
        col=1,
        secondary_y=True,
    )
    fig.update_yaxes(title_text="PHQ-9", range=[0, 27], row=1, col=1)
    fig.update_yaxes(title_text="mmHg", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="CADSS", rangemode="tozero", row=3, col=1)
    fig.update_yaxes(title_text="MOAA/S", range=[0, 5.5], row=3, col=1, secondary_y=True)
    fig.update_layout(
        height=560,
        margin={"l": 50, "r": 10, "t": 10, "b": 30},
        legend={"orientation": "h", "y": -0.1},
    )
    return fig
