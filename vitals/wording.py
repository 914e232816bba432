"""A nurse's words for what the store holds in an engineer's: one wording for every screen.

Rule ids (``sbp-high``), parameter codes (``spo2``), event kinds (``infusion-start``) and the
recorder's technical messages are keys for programs. The pages and the PDF report say the
same things in one clinical vocabulary — SpO₂, HR, NIBP; "High SBP"; "Monitor disconnected"
— and show values rounded as a bedside monitor shows them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from vitals.clinical import load_protocol
from vitals.errors import ConfigError

PARAM_LABELS = {
    "hr": "HR",
    "pulse": "Pulse",
    "sbp": "SBP",
    "dbp": "DBP",
    "map": "MAP",
    "spo2": "SpO₂",
}
UNITS = {"hr": "bpm", "pulse": "bpm", "sbp": "mmHg", "dbp": "mmHg", "map": "mmHg", "spo2": "%"}
LEVEL_LABELS = {"advisory": "Advisory", "warning": "Warning", "critical": "Critical"}

# Technical alerts by rule id (the recorder's and the engine's), in words a nurse acts on.
TECHNICAL_NAMES = {
    "device-disconnected": "Monitor disconnected",
    "no-data": "No data from the monitor",
    "nibp-overdue": "BP check overdue",
    "recorder-downtime": "Recorder downtime",
    "recorder-stopped": "Recorder downtime",
    "store-refused": "Database refuses writes",
    "store-file": "Database file deleted or replaced",
    "acquisition-failed": "Acquisition failed, restarting",
    "alerting-failed": "Alert evaluation failed, restarting",
    "device-clock": "Monitor clock is off",
    "no-station-watching": "No station is watching",
}
# Technical alerts whose reason the recorder writes for nurses (no exception text in it):
# shown after the name, since the reason is the news (how long, since when, what is kept).
SPOKEN_REASONS = {"recorder-downtime", "recorder-stopped", "store-refused", "device-clock"}
LINK_WORDS = {
    "disconnected": ("disconnected", "check the cable and that the monitor is switched on"),
    "no data": ("sends no data", "check the monitor is on and its data output is enabled"),
    "connecting": ("connecting", "waiting for the monitor to answer"),
}
EVENT_LABELS = {
    "dose": "Dose given",
    "infusion-start": "Infusion started",
    "infusion-stop": "Infusion stopped",
    "medication": "Medication",
    "symptom": "Symptom",
    "dissociation": "Dissociation score",
    "note": "Note",
    "bp-check": "BP check requested",
    "threshold": "Threshold changed",
    "baseline": "Baseline entered",
    "session-start": "Session started",
    "session-end": "Session ended",
    "protocol": "Protocol changed",
    "sedation": "Sedation (MOAA/S)",
    "respiratory": "Respiratory status",
    "phq9": "PHQ-9",
    "side-effects": "Side effects",
    "import": "Readings imported",
}


def chair_site(chair: str) -> str:
    """The site of a central store's chair id (``"{site}/{chair}"``); "" for a site's own."""
    return chair.rpartition("/")[0]


def chair_label(chair: str, name: str | None = None) -> str:
    """A chair as nurses call it: its configured ``name`` (else its id). On a central store a
    chair's id is ``"{site}/{chair}"`` and every clinic has its "Chair 1", so the site comes
    first unless the name already says it."""
    site, _, local = chair.rpartition("/")
    shown = name or local
    return f"{site} · {shown}" if site and site not in shown else shown


def param_label(param: str | None) -> str:
    return PARAM_LABELS.get(str(param), str(param).upper()) if param else ""


def monitor_number(value: float | None) -> str:
    """A value as the monitor shows it: whole numbers, halves rounded up; "—" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return str(math.floor(float(value) + 0.5))


def signed_number(value: float) -> str:
    """A change as the monitor would round it, with its sign: "+38", "-4", "0"."""
    shown = monitor_number(value)
    return shown if shown.startswith("-") or shown == "0" else f"+{shown}"


def with_unit(param: str, value: float | None) -> str:
    number = monitor_number(value)
    unit = UNITS.get(param, "")
    if number == "—" or not unit:
        return number
    return f"{number}%" if unit == "%" else f"{number} {unit}"


def protocol_label(name: str) -> str:
    """A preset as nurses name it: "IV ketamine", "Esketamine nasal spray" (its title without
    the dose, which the session shows on its own)."""
    try:
        title = load_protocol(name).title
    except ConfigError:
        return name
    return re.sub(r"\s+\d.*$", "", title) or title


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind.replace("-", " ").capitalize())


def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level.capitalize())


def _rule(rule_json: str | Mapping | None) -> Mapping[str, Any]:
    if isinstance(rule_json, Mapping):
        return rule_json
    try:
        found = json.loads(rule_json) if rule_json else {}
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, Mapping) else {}


def alert_name(rule: str, param: str | None = None, rule_json: str | Mapping | None = None) -> str:
    """What the alert is, never its id: "High SBP", "SBP rise above baseline", "No data…"."""
    if rule in TECHNICAL_NAMES:
        return TECHNICAL_NAMES[rule]
    if rule.startswith("invalid-"):
        return f"{param_label(rule.removeprefix('invalid-'))}: no valid reading"
    spec = _rule(rule_json)
    shown = param_label(param or spec.get("param"))
    direction = spec.get("direction") or rule.rsplit("-", 1)[-1]
    if spec.get("relative"):
        word = "rise above" if direction == "high" else "fall below"
        return f"{shown} {word} baseline"
    if direction in ("high", "low"):
        return f"{direction.capitalize()} {shown}"
    return f"{shown} alert" if shown else "Alert"


def limit_text(level: str, param: str | None, rule_json: str | Mapping | None) -> str:
    """The threshold the episode crossed at ``level``, as a nurse reads it."""
    spec = _rule(rule_json)
    value = (spec.get("tiers") or {}).get(level)
    if value is None:
        return ""
    if spec.get("relative"):
        base = spec.get("baseline")
        sign = "+" if value >= 0 else "−"
        against = f"baseline {monitor_number(base)}" if base is not None else "baseline"
        return f"{level} at {against} {sign} {with_unit(str(param), abs(value))}"
    return f"{level} limit {with_unit(str(param), value)}"


def alert_summary(episode: Any) -> str:
    """One line for an episode row (``queries.episodes``): name, peak and the limit crossed.

    Clinical: "High SBP 186 mmHg (critical limit 180 mmHg)". Technical alerts are their name.
    """
    name = alert_name(episode.rule, episode.param, getattr(episode, "rule_json", None))
    if episode.kind != "clinical":
        reason = getattr(episode, "reason", "")
        return f"{name} — {reason}" if episode.rule in SPOKEN_REASONS and reason else name
    peak = episode.peak_value
    if peak is None or (isinstance(peak, float) and math.isnan(peak)):
        return name
    word = (
        "lowest" if _rule(getattr(episode, "rule_json", None)).get("direction") == "low" else "peak"
    )
    limit = limit_text(episode.level, episode.param, getattr(episode, "rule_json", None))
    limit = f" ({limit})" if limit else ""
    return f"{name}: {word} {with_unit(episode.param, peak)}{limit}"


def link_problem(state: str, device: str | None = None) -> tuple[str, str] | None:
    """(what is wrong, what to check) for a device link state; None when data flows."""
    found = LINK_WORDS.get(state)
    if found is None:
        return None
    what, check = found
    who = f"Monitor ({device})" if device else "Monitor"
    return f"{who} {what}", check
