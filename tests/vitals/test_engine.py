"""The alert engine at every edge: thresholds, persistence, hysteresis, escalation, baselines."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitals.engine import CLINICAL, TECHNICAL, AlertEngine, evaluate
from vitals.reading import Param, Quality, Reading
from vitals.rules import Direction, Level, Rule, RuleSet

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
W, C, A = Level.WARNING, Level.CRITICAL, Level.ADVISORY

SBP_HIGH = Rule(
    "sbp-high", Param.SBP, Direction.HIGH, ((W, 165), (C, 180)), persist_readings=2, hysteresis=5
)
SPO2_LOW = Rule(
    "spo2-low", Param.SPO2, Direction.LOW, ((W, 90), (C, 85)), persist_s=15, hysteresis=2
)


def stream(
    param: Param, values: list, step_s: float = 60, quality: Quality = Quality.OK
) -> list[Reading]:
    return [
        Reading(param, v, quality if v is not None else Quality.INVALID).stamped(
            "c1", T0 + timedelta(seconds=i * step_s), "t"
        )
        for i, v in enumerate(values)
    ]


def episodes(rule: Rule, values: list, step_s: float = 60, baseline: float | None = None) -> list:
    result = evaluate(RuleSet((rule,)), stream(rule.param, values, step_s), {rule.param: baseline})
    return [e for e in result if e.kind == CLINICAL]


def at(i: int, step_s: float = 60) -> datetime:
    return T0 + timedelta(seconds=i * step_s)


@pytest.mark.parametrize(
    ("values", "opened"),
    [
        ([164, 164, 164], False),  # one below the threshold: never
        ([165, 165], True),  # at the threshold: counts
        ([166, 166], True),  # one above
        ([165, 150, 165], False),  # not consecutive: a single spike is not an alarm
    ],
)
def test_warning_threshold_edges_with_two_reading_persistence(values: list, opened: bool) -> None:
    assert bool(episodes(SBP_HIGH, values)) is opened


@pytest.mark.parametrize(("value", "fires"), [(179, False), (180, True), (181, True)])
def test_critical_fires_on_its_first_reading(value: float, fires: bool) -> None:
    found = episodes(SBP_HIGH, [value])
    assert bool(found) is fires
    if fires:
        assert found[0].level is C and found[0].started == T0
        assert found[0].reason == f"SBP {value:g} ≥ 180 for 1 reading (critical)"


def test_episode_starts_at_the_first_reading_of_the_run_and_keeps_the_peak() -> None:
    [e] = episodes(SBP_HIGH, [150, 170, 168, 150])
    assert e.started == at(1) and e.level is W
    assert (e.peak_value, e.peak_time) == (170, at(1))
    assert e.ended == at(3)
    assert e.triggers == (at(1), at(2))
    assert e.reason == "SBP 168 ≥ 165 for 2 readings (warning)"


@pytest.mark.parametrize(
    ("after", "ended"),
    [(161, False), (160, False), (159.9, True)],  # ends only below threshold - hysteresis (165-5)
)
def test_hysteresis_edge(after: float, ended: bool) -> None:
    [e] = episodes(SBP_HIGH, [170, 170, after])
    assert (e.ended is not None) is ended


def test_escalation_within_one_episode_never_two_overlapping() -> None:
    found = episodes(SBP_HIGH, [170, 170, 184, 172, 150])
    assert len(found) == 1
    [e] = found
    assert e.level is C and e.started == at(0) and e.peak_value == 184 and e.ended == at(4)
    assert e.reason == "SBP 184 ≥ 180 for 1 reading (critical)"


def test_level_never_drops_while_values_recover() -> None:
    [e] = episodes(SBP_HIGH, [185, 170, 170])
    assert e.level is C and e.open


def test_latching_critical_stays_visible_until_acknowledged() -> None:
    [e] = episodes(SBP_HIGH, [185, 120])
    assert e.ended == at(1)
    assert e.latched(acknowledged=False) and not e.latched(acknowledged=True)
    [w] = episodes(SBP_HIGH, [170, 170, 120])
    assert not w.latched(acknowledged=False)  # only critical episodes latch


@pytest.mark.parametrize(("seconds", "fires"), [(14, False), (15, True), (16, True)])
def test_persistence_in_seconds(seconds: int, fires: bool) -> None:
    values = [89] * (seconds + 1)  # one reading a second: the run lasts `seconds`
    assert bool(episodes(SPO2_LOW, values, step_s=1)) is fires


def test_low_direction_edges_and_hysteresis() -> None:
    assert not episodes(SPO2_LOW, [91] * 30, step_s=1)
    [e] = episodes(SPO2_LOW, [90] * 16 + [91.9, 92.1], step_s=1)
    assert e.level is W and e.ended == at(17, 1)  # 91.9 is within 90 + 2, 92.1 is beyond
    [c] = episodes(SPO2_LOW, [85], step_s=1)
    assert c.level is C and c.reason == "SPO2 85 ≤ 85 for 1 reading (critical)"


SBP_RISE = Rule("sbp-rise", Param.SBP, Direction.HIGH, ((W, 40),), relative=True)


@pytest.mark.parametrize(("value", "fires"), [(169, False), (170, True), (171, True)])
def test_relative_to_baseline(value: float, fires: bool) -> None:
    found = episodes(SBP_RISE, [value], baseline=130)
    assert bool(found) is fires
    if fires:
        assert found[0].reason == f"SBP {value:g} ≥ baseline 130 + 40 = 170 for 1 reading (warning)"
        assert found[0].rule_snapshot["baseline"] == 130


def test_relative_rule_without_baseline_is_inactive_and_says_so() -> None:
    engine = AlertEngine(RuleSet((SBP_RISE,)), {})
    assert engine.feed_many(stream(Param.SBP, [250])) == []
    # the nurse is told through the baseline's source (see test_clinical: "relative rules
    # inactive until one is entered by hand")


def test_invalid_readings_never_alarm_but_are_shown_as_technical() -> None:
    readings = stream(Param.SBP, [250, 250], quality=Quality.INVALID) + stream(Param.SBP, [None])
    result = evaluate(RuleSet((SBP_HIGH,)), readings)
    assert [e.kind for e in result] == [TECHNICAL]
    assert result[0].rule == "invalid-sbp" and result[0].level is A
    assert "implausible value 250" in result[0].reason


def test_invalid_readings_do_not_break_a_run() -> None:
    gap = Reading(Param.SBP, None, Quality.INVALID).stamped("c1", at(1), "t")
    readings = [*stream(Param.SBP, [170]), gap]
    readings += [r.stamped("c1", at(2), "t") for r in stream(Param.SBP, [170])]
    assert any(e.kind == CLINICAL for e in evaluate(RuleSet((SBP_HIGH,)), readings))


def test_rule_definitions_are_checked() -> None:
    with pytest.raises(Exception, match="more extreme"):
        Rule("x", Param.SBP, Direction.HIGH, ((W, 180), (C, 165)))
    with pytest.raises(Exception, match="more extreme"):
        Rule("x", Param.SPO2, Direction.LOW, ((W, 85), (C, 90)))
    rule = SBP_HIGH.with_threshold(W, 170)
    assert rule.threshold(W) == 170 and Rule.from_dict(rule.to_dict()) == rule


values_st = st.one_of(st.none(), st.floats(60, 200, allow_nan=False).map(lambda v: round(v)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(values_st, st.integers(1, 120)), max_size=60), st.data())
def test_incremental_equals_batch(points: list, data: st.DataObject) -> None:
    """What the recorder stores (the last snapshot of every episode it was handed, feeding in
    arbitrary chunks) is exactly what review computes in one pass."""
    readings, t = [], T0
    for value, gap in points:
        t += timedelta(seconds=gap)
        quality = Quality.OK if value is not None else Quality.INVALID
        readings.append(Reading(Param.SBP, value, quality).stamped("c1", t, "t"))
    rules = RuleSet(
        (
            SBP_HIGH,
            SBP_RISE,
            Rule("sbp-low", Param.SBP, Direction.LOW, ((A, 90), (C, 70)), persist_s=30),
        )
    )
    baselines = {Param.SBP: 130.0}
    engine, stored = AlertEngine(rules, baselines), {}
    cuts = sorted(data.draw(st.lists(st.integers(0, len(readings)), max_size=8)))
    for start, end in zip([0, *cuts], [*cuts, len(readings)], strict=True):
        for episode in engine.feed_many(readings[start:end]):
            stored[episode.key] = episode  # the recorder's upsert
    batch = evaluate(rules, readings, baselines)
    assert sorted(stored.values(), key=lambda e: (e.started, e.rule)) == batch
    for rule in ("sbp-high", "sbp-rise", "sbp-low"):  # never two overlapping episodes of a rule
        spans = [
            (e.started, e.ended or datetime.max.replace(tzinfo=UTC))
            for e in batch
            if e.rule == rule
        ]
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))


HR_HIGH = Rule(
    "hr-high",
    Param.HR,
    Direction.HIGH,
    ((W, 120), (C, 150)),
    persist_s=30,
    hysteresis=5,
    inclusive=False,
)
beat_st = st.tuples(
    st.sampled_from([Param.HR, Param.PULSE]),
    st.one_of(st.none(), st.integers(30, 200)),
    st.integers(0, 20),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(beat_st, max_size=80), st.data())
def test_heart_rate_from_two_sources_is_one_alarm_live_and_in_review(
    beats: list, data: st.DataObject
) -> None:
    """ECG HR and oximeter pulse in any mix, valid or not: the recorder's incremental episodes
    are review's, and one heartbeat never has two heart-rate alarms at once."""
    readings, t = [], T0
    for param, value, gap in beats:
        t += timedelta(seconds=gap)
        quality = Quality.OK if value is not None else Quality.INVALID
        readings.append(Reading(param, value, quality).stamped("c1", t, "t"))
    rules = RuleSet((HR_HIGH,))
    engine, stored = AlertEngine(rules), {}
    cuts = sorted(data.draw(st.lists(st.integers(0, len(readings)), max_size=8)))
    for start, end in zip([0, *cuts], [*cuts, len(readings)], strict=True):
        for episode in engine.feed_many(readings[start:end]):
            stored[episode.key] = episode
    batch = evaluate(rules, readings)
    assert sorted(stored.values(), key=lambda e: (e.started, e.rule)) == batch
    spans = [
        (e.started, e.ended or datetime.max.replace(tzinfo=UTC))
        for e in batch
        if e.rule == "hr-high"
    ]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))


def test_a_stored_alarm_is_continued_by_a_rebuilt_engine_never_lowered() -> None:
    """After a rule change the new engine adopts the stored open episode: same start, the
    higher of the two levels, the more extreme peak."""
    stored = episodes(SBP_HIGH, [185, 170])[0]  # critical, still open at 170
    lowered = SBP_HIGH.with_threshold(W, 168)
    engine = AlertEngine(RuleSet((lowered,)))
    engine.feed_many(stream(Param.SBP, [171, 172], step_s=60))  # 2-reading persistence
    continued = engine.adopt(stored)
    assert (continued.started, continued.level, continued.peak_value) == (T0, C, 185)
    assert engine.adopt(episodes(SBP_RISE, [200], baseline=100)[0]) is None  # no such rule open
