"""The threshold editor shared by session start and what-if: defaults beside overrides."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vitals.clinical import load_protocol
from vitals.rules import Level, RuleSet
from vitals.wording import alert_name, level_label

COLUMNS = {
    "Alert": st.column_config.TextColumn(width="medium", disabled=True),
    "Level": st.column_config.TextColumn(width="small", disabled=True),
    "Default": st.column_config.NumberColumn(width="small", disabled=True, format="%g"),
    "Override": st.column_config.NumberColumn(
        width="small", help="Leave empty to keep the default", format="%g"
    ),
}


def threshold_editor(protocol: str, key: str) -> list[tuple[str, Level, float]]:
    """Every threshold of ``protocol`` with its default; returns the overrides filled in."""
    tiers = [
        (r, level, value) for r in load_protocol(protocol).rules.rules for level, value in r.tiers
    ]
    rows = pd.DataFrame(
        {
            "Alert": [alert_name(r.name, r.param.value, r.to_dict()) for r, _, _ in tiers],
            "Level": [level_label(level.label) for _, level, _ in tiers],
            "Default": [value for _, _, value in tiers],
            "Override": pd.Series([None] * len(tiers), dtype="float64"),
        }
    )
    edited = st.data_editor(
        rows, column_config=COLUMNS, hide_index=True, key=key, width="stretch", placeholder="—"
    )
    return [
        (rule.name, level, float(override))
        for (rule, level, _), override in zip(tiers, edited.Override, strict=True)
        if pd.notna(override)
    ]


def with_overrides(protocol: str, overrides: list[tuple[str, Level, float]]) -> RuleSet:
    rules = load_protocol(protocol).rules
    for name, level, value in overrides:
        rules = rules.changed(name, level, value)
    return rules
