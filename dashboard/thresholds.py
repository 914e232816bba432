"""The threshold editor shared by session start and what-if: defaults beside overrides."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vitals.clinical import load_protocol
from vitals.rules import Level, RuleSet


def threshold_editor(protocol: str, key: str) -> list[tuple[str, Level, float]]:
    """Every threshold of ``protocol`` with its default; returns the overrides filled in."""
    rows = [
        {"rule": r.name, "level": level.label, "default": value, "override": None}
        for r in load_protocol(protocol).rules.rules
        for level, value in r.tiers
    ]
    edited = st.data_editor(
        pd.DataFrame(rows), disabled=["rule", "level", "default"], hide_index=True, key=key
    )
    return [
        (row.rule, Level.parse(row.level), float(row.override))
        for row in edited.itertuples()
        if pd.notna(row.override)
    ]


def with_overrides(protocol: str, overrides: list[tuple[str, Level, float]]) -> RuleSet:
    rules = load_protocol(protocol).rules
    for name, level, value in overrides:
        rules = rules.changed(name, level, value)
    return rules
