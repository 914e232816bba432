"""The single writer: one thread owns the only write connection and commits in groups.

Callers hand it a unit of work and block until that work is committed (``synchronous=FULL``),
so a reading is durable before ``write`` returns: a recorder crash loses at most what was in
flight. Work queued while a commit runs is committed together in the next group, which keeps
32 chairs at one fsync per group instead of one per reading.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vitals.chairs import Chair
from vitals.device_state import DeviceState
from vitals.engine import Episode
from vitals.errors import StoreError
from vitals.reading import Reading
from vitals.store import notifications, sql
from vitals.store.notifications import Notification
from vitals.store.upgrade import open_migrated

Work = Callable[[sqlite3.Connection], None]


@dataclass
class _Ticket:
    work: Work
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class StoreWriter:
    """Owns the write connection; thread-safe ``write_*`` methods block until committed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = open_migrated(self.path)
        self._queue: queue.SimpleQueue[_Ticket | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._closed = False
        self._thread.start()

    def write_readings(self, readings: Sequence[Reading]) -> None:
        rows = [sql.reading_row(r) for r in readings]
        self._submit(lambda conn: sql.insert_readings(conn, rows))

    def write_device_state(self, state: DeviceState, now_us: int) -> None:
        row = sql.device_state_row(state, now_us)
        self._submit(lambda conn: conn.execute(sql.UPSERT_DEVICE_STATE, row))

    def write_chairs(self, chairs: Sequence[Chair]) -> None:
        rows = [sql.chair_row(c, i) for i, c in enumerate(chairs)]
        self._submit(lambda conn: conn.executemany(sql.UPSERT_CHAIR, rows))

    def beat(self, started_us: int, now_us: int, stopped: bool = False) -> None:
        row = (os.getpid(), started_us, now_us, now_us if stopped else None)
        self._submit(lambda conn: conn.execute(sql.UPSERT_HEARTBEAT, row))

    def write_episodes(
        self, chair: str | None, session: int | None, episodes: Sequence[Episode]
    ) -> None:
        """Insert or update episodes by (chair, rule, start): the engine's snapshots, as given."""
        rows = [sql.episode_row(chair, session, e) for e in episodes]
        self._submit(lambda conn: conn.executemany(sql.UPSERT_EPISODE, rows))

    def close_link_episodes(self, chair: str, at_us: int, why: str) -> None:
        row = (at_us, f" (ended: {why})", chair)
        self._submit(lambda conn: conn.execute(sql.CLOSE_LINK_EPISODES, row))

    def write_notification(self, notification: Notification) -> None:
        """Append one send to the notification audit (never updated afterwards)."""
        row = notification.row()
        self._submit(lambda conn: conn.execute(notifications.INSERT_NOTIFICATION, row))

    def end_chairless_episode(self, rule: str, started_us: int, at_us: int, why: str) -> None:
        row = (at_us, f" (ended: {why})", rule, started_us)
        self._submit(lambda conn: conn.execute(notifications.END_CHAIRLESS_EPISODE, row))

    def write_notifier_state(
        self, started_us: int, now_us: int, problem: str, channels: dict, stopped: bool = False
    ) -> None:
        """The notifier's heartbeat, what is wrong with it, and each channel's last result."""
        row = (started_us, now_us, now_us if stopped else None, problem, json.dumps(channels))
        self._submit(lambda conn: conn.execute(notifications.UPSERT_NOTIFIER, row))

    def previous_heartbeat(self) -> tuple[int, int | None] | None:
        """(last beat, clean stop) of the recorder that ran before this one, if any."""
        found: list = []
        query = "SELECT beat_us, stopped_us FROM heartbeat"
        self._submit(lambda conn: found.extend(conn.execute(query)))
        return found[0] if found else None

    def latest_nibp(self, chair: str) -> dict[str, float | None]:
        """The chair's last stored NIBP measurement, so a restart does not store it twice."""
        result: dict[str, float | None] = {}
        self._submit(lambda conn: result.update(sql.latest_nibp(conn, chair)))
        return result

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _submit(self, work: Work) -> None:
        if self._closed:
            raise StoreError(f"store writer for {self.path} is closed")
        ticket = _Ticket(work)
        self._queue.put(ticket)
        ticket.done.wait()
        if ticket.error is not None:
            raise StoreError(f"write to {self.path} failed: {ticket.error}") from ticket.error

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._commit(group)
                    return
                group.append(more)
            self._commit(group)

    def _commit(self, group: list[_Ticket]) -> None:
        """One transaction for the group; a failing piece of work is rolled back alone."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for ticket in group:
                self._conn.execute("SAVEPOINT work")
                try:
                    ticket.work(self._conn)
                    self._conn.execute("RELEASE work")
                except sqlite3.Error as exc:
                    self._conn.execute("ROLLBACK TO work")
                    self._conn.execute("RELEASE work")
                    ticket.error = exc
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            for ticket in group:
                ticket.error = ticket.error or exc
        finally:
            for ticket in group:
                ticket.done.set()
