"""One technical episode per outage of a device's link, however often it reconnects meanwhile.

An outage begins when a device stops delivering data (its port fails or vanishes, the line
falls silent, acquisition fails) and ends at its next valid frame; in between the recorder
may reopen the port many times, and the link may pass from "disconnected" to "no data" and
back. A nurse needs one alarm for that, not one per reconnect attempt: the episode starts at
the outage's start, its reason follows the latest state and counts the attempts. The count
reaches the record at 1, 2, 4, 8, ... attempts and exactly when the outage ends: every update of
the episode is a link of the audit chain, and a monitor switched off all night is tried every
10 s (thousands of links a night, more than a day's readings) for a dozen updates.

Outages shorter than the chair's debounce are counted as drop-outs, never alarmed (a
connector wiggle, a gateway reconnecting); a failure of acquisition itself is shown at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from vitals.device_state import LinkState
from vitals.engine import TECHNICAL, Episode
from vitals.rules import Level

RULES = {
    LinkState.DISCONNECTED: "device-disconnected",
    LinkState.NO_DATA: "no-data",
    LinkState.FAILED: "acquisition-failed",
}


@dataclass
class Outage:
    started: datetime
    rule: str
    message: str
    attempts: int = 0
    failed: bool = False
    episode: Episode | None = None


class LinkWatch:
    """Turns a device's link states into outage episodes; each call returns what changed."""

    def __init__(self, who: str, debounce_s: float) -> None:
        self.who, self.debounce_s = who, debounce_s
        self.outage: Outage | None = None
        self.dropouts = 0

    def went_bad(self, state: LinkState, message: str, since: datetime) -> list[Episode]:
        outage = self.outage
        if outage is None:
            outage = self.outage = Outage(since, RULES[state], message)
        elif message == outage.message and state is not LinkState.FAILED:
            return []
        outage.message = message
        outage.failed = outage.failed or state is LinkState.FAILED
        return self._shown(since)

    def attempted(self, at: datetime) -> list[Episode]:
        """The port was opened again (or tried) during the outage."""
        if self.outage is None:
            return []
        self.outage.attempts += 1
        attempts = self.outage.attempts
        return self._shown(at) if attempts & (attempts - 1) == 0 else []

    def judge(self, now: datetime) -> list[Episode]:
        """Opens the outage's episode once it has lasted the debounce."""
        return self._shown(now) if self.outage and self.outage.episode is None else []

    def data(self, at: datetime) -> list[Episode]:
        """Valid data again: the outage ends, as an episode or as a counted drop-out."""
        outage, self.outage = self.outage, None
        if outage is None:
            return []
        if outage.episode is None:
            self.dropouts += 1
            return []
        return [replace(outage.episode, ended=at, reason=self._reason(outage, final=True))]

    def stopped(self, at: datetime) -> list[Episode]:
        outage, self.outage = self.outage, None
        if outage is None or outage.episode is None:
            return []
        return [
            replace(
                outage.episode,
                ended=at,
                reason=self._reason(outage, final=True) + " (recorder stopped)",
            )
        ]

    def _shown(self, now: datetime) -> list[Episode]:
        outage = self.outage
        long_enough = (now - outage.started).total_seconds() >= self.debounce_s
        if outage.episode is None and not (long_enough or outage.failed):
            return []
        reason = self._reason(outage, final=False)
        if outage.episode is None:
            level = Level.WARNING
            outage.episode = Episode(outage.rule, TECHNICAL, level, outage.started, reason=reason)
        else:
            outage.episode = replace(outage.episode, reason=reason)
        return [outage.episode]

    def _reason(self, outage: Outage, final: bool) -> str:
        """The outage in words; while it lasts the count may lag, so it says "at least"."""
        if not outage.attempts:
            return f"{self.who}: {outage.message}"
        count = f"{outage.attempts} reconnect attempt{'' if outage.attempts == 1 else 's'}"
        return f"{self.who}: {outage.message}; {count if final else 'at least ' + count}"
