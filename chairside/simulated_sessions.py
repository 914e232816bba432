"""Sessions for simulated chairs, so a demo is meaningful at once.

Each simulated chair gets a session under the protocol its scenario stands for, with a
pseudonymous patient; the scenario's dose (or infusion start and stop) is logged as an event
when the simulated patient reaches it. A "BP check requested" event logged by a nurse starts
the simulated cuff, as the button on a real monitor would. The sessions this simulator
opened are ended when it stops.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import zlib
from datetime import datetime
from pathlib import Path

from chairside.simulated_scores import SimulatedScores
from simulators.fleet import Fleet
from vitals.errors import ChairsideError
from vitals.reading import utc_now
from vitals.review import keep_summaries
from vitals.sessions import DOSE_KINDS
from vitals.store import commands, connect_readonly, queries

BY = "simulator"
log = logging.getLogger("chairside.simulator")


class SimulatedSessions:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.sessions: dict[str, int] = {}
        self._checks_seen: set[int] = set()
        self.scores: SimulatedScores | None = None

    def follow_bp_requests(self, fleet: Fleet, stop: threading.Event, every_s: float = 1.0) -> None:
        """Until ``stop``: start the cuff of a chair whose nurse requested a BP check."""

        def watch() -> None:
            while not stop.wait(every_s):
                try:
                    self._start_requested_cuffs(fleet)
                    if self.scores:
                        self.scores.due(utc_now())
                except (ChairsideError, sqlite3.Error) as exc:
                    log.warning("BP requests not read: %s", exc)

        threading.Thread(target=watch, name="bp-requests", daemon=True).start()

    def _start_requested_cuffs(self, fleet: Fleet) -> None:
        conn = connect_readonly(self.db)
        try:
            for chair, session in self.sessions.items():
                requests = queries.events(conn, session)
                for event in requests[requests.kind == "bp-check"].itertuples():
                    if event.id not in self._checks_seen:
                        self._checks_seen.add(event.id)
                        fleet.models[chair].request_nibp()
        finally:
            conn.close()

    def open_all(self, fleet: Fleet) -> None:
        commands.register_chairs(self.db, fleet.chairs)
        self.scores = SimulatedScores(self.db, fleet.spec.seed)
        for chair in fleet.chairs:
            self._end_leftover(chair.id)
            model = fleet.models[chair.id]
            tag = zlib.crc32(f"{fleet.spec.seed}:{chair.id}".encode()) & 0xFFFF
            iv = model.scenario.route == "iv"
            protocol = "iv-ketamine" if iv else "esketamine-nasal"
            amount = {"weight_kg": 55 + tag % 45} if iv else {"dose_mg": 56 if tag % 2 else 84}
            session = commands.start_session(
                self.db, chair.id, f"SIM-{tag:04X}", protocol, BY, **amount
            )
            self.sessions[chair.id] = session
            log.info(
                "session %d opened (patient %s)",
                session,
                f"SIM-{tag:04X}",
                extra={"chair": chair.id},
            )
            self.scores.opened(session, protocol, model.scenario.name)

    def on_event(self, chair: str, kind: str, at: datetime, value: float | None) -> None:
        if chair in self.sessions:
            commands.add_event(self.db, self.sessions[chair], kind, BY, "scenario", value, at)
            if self.scores and kind in DOSE_KINDS:
                self.scores.dosed(self.sessions[chair], at)

    def end_all(self) -> None:
        for chair, session in self.sessions.items():
            try:
                if self.scores:
                    self.scores.ending(session)
                commands.end_session(self.db, session, BY, "ended when the simulator stopped")
                keep_summaries(self.db, [session])
            except ChairsideError as exc:  # a nurse may have ended it already
                log.info("%s: %s", chair, exc)

    def _end_leftover(self, chair: str) -> None:
        try:
            session = commands.open_session_id(self.db, chair)
        except ChairsideError:
            return
        commands.end_session(self.db, session, BY, "ended: a new simulation started", utc_now())
        keep_summaries(self.db, [session])
