"""One wording for every screen: SpO₂ not SPO2, alert names not rule ids, monitor rounding."""

from collections import namedtuple

import pytest

from vitals.wording import (
    alert_name,
    alert_summary,
    chair_label,
    monitor_number,
    protocol_label,
    with_unit,
)

E = namedtuple("E", "rule param kind level peak_value rule_json")


@pytest.mark.parametrize(
    ("value", "shown"), [(94.5, "95"), (94.49, "94"), (120.0, "120"), (None, "—")]
)
def test_values_are_rounded_as_a_monitor_shows_them(value, shown) -> None:
    assert monitor_number(value) == shown
    assert monitor_number(float("nan")) == "—"


def test_parameters_and_alerts_have_one_name_each() -> None:
    assert with_unit("spo2", 88.0) == "88%" and with_unit("sbp", 150.4) == "150 mmHg"
    spec = {"param": "spo2", "direction": "low", "tiers": {"warning": 90, "critical": 85}}
    assert alert_name("spo2-low", "spo2", spec) == "Low SpO₂"
    assert alert_name("sbp-rise", "sbp", {"direction": "high", "relative": True}) == (
        "SBP rise above baseline"
    )
    assert alert_name("invalid-hr") == "HR: no valid reading"
    assert alert_name("device-disconnected") == "Monitor disconnected"
    assert alert_name("nibp-overdue") == "BP check overdue"
    assert protocol_label("esketamine-nasal") == "Esketamine nasal spray"
    episode = E("spo2-low", "spo2", "clinical", "critical", 84.0, spec)
    assert alert_summary(episode) == "Low SpO₂: lowest 84% (critical limit 85%)"


def test_a_chair_is_called_by_its_name_and_on_a_central_store_by_its_site_too() -> None:
    assert chair_label("chair-1", "Chair 1") == "Chair 1"
    assert chair_label("chair-1") == "chair-1"
    # every clinic has its Chair 1: the central review tells them apart by their sites
    assert chair_label("riverside/chair-1", "Chair 1") == "riverside · Chair 1"
    assert chair_label("hillside/chair-1", "Chair 1") == "hillside · Chair 1"
    assert chair_label("riverside/chair-2") == "riverside · chair-2"
    assert chair_label("riverside/chair-3", "riverside recliner") == "riverside recliner"
