"""The escalation ladder as pure functions: which notifications are due now. No clock, no I/O.

The notifier (chairside.notifier) asks every second, for each alarm that still needs a
person (open and unacknowledged, or a critical one that recovered but nobody acknowledged),
which (ladder step, channel) pairs must be sent now, given what was already tried:

- a step applies to an alarm of its own rung: the alarm's level, or ``technical`` for
  technical warnings (a device without data, no station watching), see ``rung``;
- it is due once the alarm has been at that rung for ``after_s`` (the ladder's clock starts
  when the alarm reached the rung, so a warning that becomes critical starts the critical
  ladder at its beginning instead of firing every critical step at once);
- each channel of a due step is sent once: a delivered send is never repeated, a failed one
  is tried again every ``retry_s`` until it is delivered or the alarm is acknowledged;
- acknowledging, or a non-critical alarm ending, removes the alarm from what is asked: the
  ladder stops there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vitals.notify_config import LadderStep

TECHNICAL_RUNG = "technical"


@dataclass(frozen=True)
class Alarm:
    """An episode as the ladder sees it: its rung and since when it has been on that rung."""

    episode: int
    rung: str
    since: datetime


@dataclass(frozen=True)
class Attempt:
    """One earlier send of a step to a channel for an episode, and whether it arrived."""

    episode: int
    step: str
    channel: str
    t: datetime
    delivered: bool


@dataclass(frozen=True)
class Send:
    """A notification to send now; ``attempt`` counts from 1 for the audit."""

    episode: int
    step: str
    channel: str
    attempt: int


def step_key(step: LadderStep) -> str:
    """A step's name in the audit, stable across restarts (``critical+30s``)."""
    return f"{step.level}+{step.after_s:g}s"


def rung(kind: str, level: str) -> str:
    """The ladder an episode climbs: its level, or ``technical`` for a technical warning
    (no data, disconnected, BP check overdue, no station watching). A technical advisory
    (readings flagged as artifacts) climbs the advisory steps: it is no reason to page."""
    return TECHNICAL_RUNG if kind == "technical" and level != "advisory" else level


def due_sends(
    alarm: Alarm,
    ladder: Sequence[LadderStep],
    attempts: Iterable[Attempt],
    now: datetime,
    retry_s: float,
) -> list[Send]:
    """Every (step, channel) of ``alarm`` that must be sent at ``now``."""
    tried: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in attempts:
        if attempt.episode == alarm.episode:
            tried.setdefault((attempt.step, attempt.channel), []).append(attempt)
    waited = (now - alarm.since).total_seconds()
    sends = []
    for step in ladder:
        if step.level != alarm.rung or waited < step.after_s:
            continue
        key = step_key(step)
        for channel in step.channels:
            history = sorted(tried.get((key, channel), []), key=lambda a: a.t)
            if _should_send(history, now, retry_s):
                sends.append(Send(alarm.episode, key, channel, len(history) + 1))
    return _unique(sends)


def _should_send(history: list[Attempt], now: datetime, retry_s: float) -> bool:
    if not history:
        return True
    if any(a.delivered for a in history):
        return False
    return (now - history[-1].t).total_seconds() >= retry_s


def _unique(sends: list[Send]) -> list[Send]:
    """A step that lists a channel twice sends once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for send in sends:
        if (send.step, send.channel) not in seen:
            seen.add((send.step, send.channel))
            kept.append(send)
    return kept


def track_rungs(
    clock: Mapping[int, tuple[str, datetime]],
    seen: Iterable[tuple[int, str, datetime]],
    now: datetime,
) -> dict[int, tuple[str, datetime]]:
    """The ladder's clock per episode: (rung, since). ``seen`` is (episode, rung, started)
    of the alarms needing a person now. An episode first seen starts at its own start; one
    whose rung changed restarts at ``now``; episodes no longer seen are forgotten."""
    updated = {}
    for episode, current, started in seen:
        before = clock.get(episode)
        if before is None:
            updated[episode] = (current, started)
        elif before[0] != current:
            updated[episode] = (current, now)
        else:
            updated[episode] = before
    return updated
