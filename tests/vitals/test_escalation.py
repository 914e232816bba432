"""The escalation ladder on a nurse's timeline: who gets which message, when, and when it stops.

The clinic's ladder of the issue: critical unacknowledged 30 s → the on-duty nurse's phone;
2 min → the whole team; warning after 3 min; technical ("no current data") after 60 s.
"""

from __future__ import annotations

import pytest

from tests.vitals.nurse_timeline import clock
from vitals.escalation import Alarm, Attempt, Send, due_sends, rung, step_key, track_rungs
from vitals.notify_config import LadderStep

LADDER = (
    LadderStep("critical", 30, ("nurse-phone",)),
    LadderStep("critical", 120, ("team", "nurse-phone")),
    LadderStep("warning", 180, ("nurse-phone",)),
    LadderStep("technical", 60, ("nurse-phone",)),
)
RETRY_S = 20


def due(alarm: Alarm, at: str, tried: list[Attempt] = ()) -> list[tuple[str, str, int]]:
    return [
        (s.step, s.channel, s.attempt) for s in due_sends(alarm, LADDER, tried, clock(at), RETRY_S)
    ]


def sent(sends: list[Send] | list[tuple[str, str, int]], at: str, delivered: bool = True):
    return [Attempt(7, step, channel, clock(at), delivered) for step, channel, _ in sends]


def test_critical_climbs_the_ladder_until_acknowledged() -> None:
    sbp_190 = Alarm(7, "critical", clock("10:00:00"))
    assert due(sbp_190, "10:00:29") == []  # the nurse at the station has 30 s to acknowledge
    first = due(sbp_190, "10:00:30")
    assert first == [("critical+30s", "nurse-phone", 1)]
    history = sent(first, "10:00:31")
    assert due(sbp_190, "10:01:59", history) == []  # delivered once: not repeated
    second = due(sbp_190, "10:02:00", history)
    assert second == [("critical+120s", "team", 1), ("critical+120s", "nurse-phone", 1)]
    history += sent(second, "10:02:01")
    assert due(sbp_190, "10:30:00", history) == []  # the ladder has no more steps


def test_warning_waits_three_minutes_and_technical_one() -> None:
    warning = Alarm(7, "warning", clock("10:00"))
    assert due(warning, "10:02:59") == []
    assert due(warning, "10:03:00") == [("warning+180s", "nurse-phone", 1)]
    no_data = Alarm(7, rung("technical", "warning"), clock("10:00"))
    assert due(no_data, "10:00:59") == []
    assert due(no_data, "10:01:00") == [("technical+60s", "nurse-phone", 1)]


def test_advisory_alone_reaches_nobody_without_a_step() -> None:
    assert due(Alarm(7, "advisory", clock("10:00")), "12:00") == []
    artifacts = rung("technical", "advisory")  # readings flagged as artifacts: no page
    assert artifacts == "advisory"
    assert due(Alarm(7, artifacts, clock("10:00")), "12:00") == []


def test_a_failed_send_is_retried_every_retry_s_until_delivered() -> None:
    alarm = Alarm(7, "critical", clock("10:00"))
    failed = sent(due(alarm, "10:00:30"), "10:00:30", delivered=False)
    assert due(alarm, "10:00:49", failed) == []
    again = due(alarm, "10:00:50", failed)
    assert again == [("critical+30s", "nurse-phone", 2)]
    failed += sent(again, "10:00:50", delivered=True)
    assert due(alarm, "10:01:30", failed) == []


def test_attempts_for_other_episodes_do_not_count() -> None:
    alarm = Alarm(8, "critical", clock("10:00"))
    other = [Attempt(7, "critical+30s", "nurse-phone", clock("10:00:30"), True)]
    assert due(alarm, "10:00:30", other) == [("critical+30s", "nurse-phone", 1)]


def test_a_warning_that_becomes_critical_starts_the_critical_ladder_at_its_beginning() -> None:
    clock_ = track_rungs({}, [(7, "warning", clock("10:00"))], clock("10:00:01"))
    assert clock_ == {7: ("warning", clock("10:00"))}
    clock_ = track_rungs(clock_, [(7, "critical", clock("10:00"))], clock("10:02:00"))
    assert clock_ == {7: ("critical", clock("10:02:00"))}
    alarm = Alarm(7, *clock_[7])
    assert due(alarm, "10:02:29") == []  # not both critical steps at once
    assert due(alarm, "10:02:30") == [("critical+30s", "nurse-phone", 1)]
    assert track_rungs(clock_, [], clock("10:03")) == {}  # acknowledged or ended: forgotten


def test_step_names_are_stable_for_the_audit() -> None:
    assert step_key(LadderStep("critical", 30.0, ("a",))) == "critical+30s"
    assert step_key(LadderStep("warning", 2.5, ("a",))) == "warning+2.5s"


@pytest.mark.parametrize("at", ["10:00:30", "11:00:00"])
def test_a_channel_listed_twice_in_one_step_is_sent_once(at: str) -> None:
    ladder = (LadderStep("critical", 30, ("team", "team")),)
    sends = due_sends(Alarm(7, "critical", clock("10:00")), ladder, [], clock(at), RETRY_S)
    assert [(s.channel, s.attempt) for s in sends] == [("team", 1)]
