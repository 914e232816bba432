"""Sessions for simulated chairs, so a demo is meaningful at once.

Each simulated chair gets a session under the protocol its scenario stands for, with a
pseudonymous patient; the scenario's dose (or infusion start and stop) is logged as an event
when the simulated patient reaches it. The sessions this simulator opened are ended when it
stops.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime
from pathlib import Path

from simulators.fleet import Fleet
from vitals.errors import ChairsideError
from vitals.reading import utc_now
from vitals.store import commands

BY = "simulator"
log = logging.getLogger("chairside.simulator")


class SimulatedSessions:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.sessions: dict[str, int] = {}

    def open_all(self, fleet: Fleet) -> None:
        commands.register_chairs(self.db, fleet.chairs)
        for chair in fleet.chairs:
            self._end_leftover(chair.id)
            model = fleet.models[chair.id]
            tag = zlib.crc32(f"{fleet.spec.seed}:{chair.id}".encode()) & 0xFFFF
            if model.scenario.route == "iv":
                weight = 55 + tag % 45
                session = commands.start_session(
                    self.db, chair.id, f"SIM-{tag:04X}", "iv-ketamine", BY, weight_kg=weight
                )
            else:
                dose = 56 if tag % 2 else 84
                session = commands.start_session(
                    self.db, chair.id, f"SIM-{tag:04X}", "esketamine-nasal", BY, dose_mg=dose
                )
            self.sessions[chair.id] = session

    def on_event(self, chair: str, kind: str, at: datetime, value: float | None) -> None:
        if chair in self.sessions:
            commands.add_event(self.db, self.sessions[chair], kind, BY, "scenario", value, at)

    def end_all(self) -> None:
        for chair, session in self.sessions.items():
            try:
                commands.end_session(self.db, session, BY, "ended when the simulator stopped")
            except ChairsideError as exc:  # a nurse may have ended it already
                log.info("%s: %s", chair, exc)

    def _end_leftover(self, chair: str) -> None:
        try:
            session = commands.open_session_id(self.db, chair)
        except ChairsideError:
            return
        commands.end_session(self.db, session, BY, "ended: a new simulation started", utc_now())
