"""The single writer: one thread owns the only write connection and commits in groups.

Callers hand it a unit of work; work queued while a commit runs is committed together in the
next group, which keeps 32 chairs at one fsync per group instead of one per reading
(``synchronous=FULL``: a commit survives a power cut). Readings and device states that arrive
within ``GROUP_S`` of each other share their commit even when the monitors send at their own
moments (32 chairs each at its own moment: 2-3 file syncs a second instead of 10-33, and
the writer's thread switches from about 200 a second to 15); anything else, and above all a
sender waiting for its acknowledgment, closes the group at once.

The writer survives the store's faults instead of passing them on. When the database refuses
writes (disk full, locked by another process, read-only, its file deleted or replaced),
*durable* work is kept and committed in order once it accepts again: readings in the spool
on disk (or, when that is impossible too, in memory up to ``MAX_HELD_READINGS``), episodes
and chair lists in memory. Everything else (device states, heartbeats, an HL7 message whose
sender waits for its acknowledgment) fails at once with a StoreError, so nothing is
acknowledged that is not committed. ``fault`` says what is wrong and since when; the recorder
turns it into a technical alert on every chair.

The store may be a PostgreSQL server (``vitals.store.location``): the same work, the same
faults (a server that is down or refuses is a store that refuses; the connection is opened
again once it answers), no file to watch, and next months' reading partitions kept ready.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from vitals.chairs import Chair
from vitals.device_state import DeviceState
from vitals.engine import Episode
from vitals.errors import StoreError
from vitals.reading import Reading, utc_now
from vitals.store import notifications, pg_migrations, sql
from vitals.store.connection import Store, connect_writer
from vitals.store.location import PostgresServer, SqliteFile, locate
from vitals.store.notifications import Notification
from vitals.store.spool import Spool
from vitals.store.upgrade import open_migrated
from vitals.times import to_us

Work = Callable[[sqlite3.Connection], None]
log = logging.getLogger("chairside.store")

MAX_HELD_READINGS = 1_000_000  # in memory when even the spool refuses: ~3 h of 32 chairs
DRAIN_CHUNK = 20_000  # readings per transaction while the spool drains
# How long a reading or device state waits for others to share its commit: a reading is
# stored and judged at most this much later; a monitor sends a value a second at most.
GROUP_S = 0.1
RETRY_S = 1.0  # how often a refusing store is tried again
WATCH_S = 1.0  # how often the database file is checked for deletion or replacement
PARTITIONS_S = 3600.0  # how often a server's reading partitions for the months ahead are made
SQLITE_HEADER = b"SQLite format 3\x00"
# Errors that belong to one piece of work (its content), not to the store as a whole.
CONTENT_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    ValueError,
    TypeError,
)


@dataclass(frozen=True)
class StoreFault:
    """Why the store refuses writes, since when, and what is kept meanwhile."""

    since: datetime
    reason: str
    permanent: bool = False  # the file is gone or replaced: only a restart resolves it
    memory_only: bool = False  # the spool refused as well
    lost: int = 0  # readings dropped beyond MAX_HELD_READINGS


@dataclass(eq=False)
class _Ticket:
    work: Work
    durable: bool = False
    readings: Sequence[Reading] = ()  # durable readings: spooled when the store refuses
    read: bool = False  # a query: needs no write lock
    grouped: bool = False  # may wait up to GROUP_S for other work to share its commit
    kept: bool = False  # waiting in the spool or in memory for the store
    done: bool = False  # committed, or failed with ``error``
    # Set once the work is done, or kept for a store that refuses: what its caller waits for
    # (no polling of the store's state).
    answered: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def finish(self, error: BaseException | None = None) -> None:
        self.error = error
        self.settle()

    def settle(self) -> None:
        """Done: committed, or failed with ``error`` (a content error within a commit)."""
        self.done = True
        self.answered.set()

    @property
    def committed(self) -> bool:
        return self.done and self.error is None


@dataclass
class _Drain:
    """Kept readings committed in one transaction, and where they came from."""

    ticket: _Ticket | None = None
    offset: int = 0  # spool offset after them
    from_spool: int = 0
    memory: list[_Ticket] = field(default_factory=list)


class StoreWriter:
    """Owns the write connection; thread-safe ``write_*`` methods return once committed
    (durable ones also once the store is known to refuse: their work is kept)."""

    def __init__(self, path: Store, spool_dir: Path | None = None, busy_s: float = 10.0) -> None:
        where = locate(path)
        self.server = where if isinstance(where, PostgresServer) else None
        self.path: Path | PostgresServer = self.server or Path(where.path)
        self.busy_s = busy_s
        self._conn = open_migrated(self.path, busy_s)
        self._identity = _identity(self.path) if isinstance(where, SqliteFile) else None
        self._watch_fd = _watch_descriptor(self.path) if isinstance(where, SqliteFile) else None
        self._partitions_due = time.monotonic()  # a server's next months, at once then hourly
        self.generation = 0  # bumped when the file is reopened; readers reopen too
        self._orphans: list[sqlite3.Connection] = []  # connections to a deleted file
        self.fault: StoreFault | None = None
        self.failures = 0  # unexpected errors the writer thread survived
        self.incidents: list[tuple[datetime, str]] = []  # for the recorder to report
        self._spool = Spool(spool_dir) if spool_dir else None
        self._memory: deque[_Ticket] = deque()  # readings kept when the spool refuses
        self._memory_readings = 0
        self._spooled: deque[tuple[int, _Ticket]] = deque()  # (spool end offset, ticket)
        self._held: deque[_Ticket] = deque()  # other durable work kept in order
        self._next_try = 0.0
        self._watched = time.monotonic()
        self._queue: queue.SimpleQueue[_Ticket | None] = queue.SimpleQueue()
        # Ends a group's wait at once: set by work somebody waits for, and by close.
        self._commit_now = threading.Event()
        self._closed = False
        self._recovering = bool(self._spool and self._spool.waiting)
        if self._recovering:
            log.warning("%s: %d readings left in the spool", self.path, self._spool.readings)
            self._attempt([])  # before any worker starts, so replays see them
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # -- what callers write -------------------------------------------------------------

    def write_readings(self, readings: Sequence[Reading]) -> None:
        """Commit now or raise StoreError: for senders that are acknowledged per message."""
        rows = [sql.reading_row(r) for r in readings]
        self._submit(_Ticket(lambda conn: sql.insert_readings(conn, rows)))

    def post_readings(self, readings: Sequence[Reading]) -> _Ticket:
        """Durable: committed now, or kept (spool, else memory) and committed in order later.

        Waits while the store is healthy, so a committed ticket is the usual answer; check
        ``ticket.committed`` (``ticket.done``: committed or failed) before acting on them.
        """
        rows = [sql.reading_row(r) for r in readings]
        ticket = _Ticket(lambda conn: sql.insert_readings(conn, rows), True, readings, grouped=True)
        self._submit(ticket)
        return ticket

    def write_device_state(
        self, state: DeviceState, now_us: int, wait: bool = True, change: bool = True
    ) -> None:
        """``wait=False``: handed over and not waited for (the next state replaces it), so a
        worker never stalls on a store that is busy or refusing. A ``change`` of the link is
        committed at once; counters alone may share the next group's commit."""
        row = sql.device_state_row(state, now_us)
        ticket = _Ticket(
            lambda conn: conn.execute(sql.UPSERT_DEVICE_STATE, row), grouped=not change
        )
        self._submit(ticket, wait)

    def write_chairs(self, chairs: Sequence[Chair]) -> None:
        rows = [sql.chair_row(c, i) for i, c in enumerate(chairs)]
        self._submit(_Ticket(lambda conn: conn.executemany(sql.UPSERT_CHAIR, rows), True))

    def beat(self, started_us: int, now_us: int, stopped: bool = False, wait: bool = True) -> None:
        row = (os.getpid(), socket.gethostname(), started_us, now_us, now_us if stopped else None)
        self._submit(_Ticket(lambda conn: conn.execute(sql.UPSERT_HEARTBEAT, row)), wait)

    def write_episodes(
        self, chair: str | None, session: int | None, episodes: Sequence[Episode]
    ) -> None:
        """Insert or update episodes by (chair, rule, start): the engine's snapshots, as given."""
        rows = [sql.episode_row(chair, session, e) for e in episodes]
        self._submit(_Ticket(lambda conn: conn.executemany(sql.UPSERT_EPISODE, rows), True))

    def write_chair_episodes(self, chairs: Sequence[str], episode: Episode) -> None:
        """The same technical episode on every chair, each in the session open at its start
        (recorder downtime, a store that refused writes)."""
        start_us = to_us(episode.started)

        def work(conn: sqlite3.Connection) -> None:
            for chair in chairs:
                session = sql.session_at(conn, chair, start_us)
                conn.execute(sql.UPSERT_EPISODE, sql.episode_row(chair, session, episode))

        self._submit(_Ticket(work, True))

    def close_engine_episodes(self, chair: str, at_us: int, why: str) -> None:
        """End what a new engine cannot continue (after a restart or a rule change), saying why."""
        row = (at_us, f" (ended: {why})", chair)
        self._submit(_Ticket(lambda conn: conn.execute(sql.CLOSE_ENGINE_EPISODES, row), True))

    def close_link_episodes(self, chair: str, at_us: int, why: str) -> None:
        row = (at_us, f" (ended: {why})", chair)
        self._submit(_Ticket(lambda conn: conn.execute(sql.CLOSE_LINK_EPISODES, row), True))

    def write_notification(self, notification: Notification) -> None:
        """Append one send to the notification audit (never updated afterwards)."""
        row = notification.row()
        self._submit(
            _Ticket(lambda conn: conn.execute(notifications.INSERT_NOTIFICATION, row), True)
        )

    def end_chairless_episode(self, rule: str, started_us: int, at_us: int, why: str) -> None:
        row = (at_us, f" (ended: {why})", rule, started_us)
        self._submit(
            _Ticket(lambda conn: conn.execute(notifications.END_CHAIRLESS_EPISODE, row), True)
        )

    def write_notifier_state(
        self, started_us: int, now_us: int, problem: str, channels: dict, stopped: bool = False
    ) -> None:
        """The notifier's heartbeat, what is wrong with it, and each channel's last result."""
        row = (started_us, now_us, now_us if stopped else None, problem, json.dumps(channels))
        self._submit(_Ticket(lambda conn: conn.execute(notifications.UPSERT_NOTIFIER, row), True))

    def apply(self, work: Work) -> None:
        """Commit one piece of work now or raise StoreError: for a helper beside acquisition
        that keeps its own state in the store (the central relay's watermarks)."""
        self._submit(_Ticket(work))

    def previous_heartbeat(self) -> tuple[int, int | None] | None:
        """(last beat, clean stop) of the recorder that ran before this one, if any."""
        found: list = []
        query = "SELECT beat_us, stopped_us FROM heartbeat"
        self._submit(_Ticket(lambda conn: found.extend(conn.execute(query)), read=True))
        return found[0] if found else None

    def latest_nibp(self, chair: str) -> dict[str, float | None]:
        """The chair's last stored NIBP measurement, so a restart does not store it twice."""
        result: dict[str, float | None] = {}
        self._submit(_Ticket(lambda conn: result.update(sql.latest_nibp(conn, chair)), read=True))
        return result

    @property
    def readings_waiting(self) -> int:
        """Readings received but not yet committed (spool and memory)."""
        return (self._spool.readings if self._spool else 0) + self._memory_readings

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._commit_now.set()
        self._thread.join()
        if self._orphans:  # empty the WAL first: an orphan's close may unlink it by name
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()
        for orphan in self._orphans:
            orphan.close()
        _close_descriptor(self._watch_fd)

    def _submit(self, ticket: _Ticket, wait: bool = True) -> None:
        if self._closed:
            raise StoreError(f"store writer for {self.path} is closed")
        self._queue.put(ticket)
        if not ticket.grouped:
            self._commit_now.set()
        if not wait:
            return
        # Durable work is answered once committed, or once kept for a store that refuses.
        ticket.answered.wait()
        if ticket.error is not None:
            raise StoreError(f"write to {self.path} failed: {ticket.error}") from ticket.error

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        """Take work and commit it; survives any error, so the writer never dies silently."""
        while True:
            group: list[_Ticket] = []
            try:
                group, closing = self._take()
                self._handle(group)
                if closing:
                    self._last_attempt()
                    return
            except Exception as exc:
                self._survive(exc, group)

    def _survive(self, exc: Exception, group: list[_Ticket]) -> None:
        """An unexpected error: logged with its traceback, counted, and the work in hand
        answered (durable work kept), so no caller waits forever; then on, after a pause."""
        self.failures += 1
        log.error("store writer failed (%d so far); it goes on", self.failures, exc_info=exc)
        for ticket in group:
            try:
                if not ticket.done:
                    self._keep(ticket) if ticket.durable else ticket.finish(exc)
            except Exception:  # keeping failed too: answer the caller rather than hang it
                ticket.finish(exc)
        time.sleep(min(RETRY_S, 0.1 * self.failures))

    def _last_attempt(self) -> None:
        """At close, a last try; the spool keeps its readings for the next start."""
        if self._waiting and not (self.fault and self.fault.permanent):
            self._attempt([])
        if self._memory_readings or self._held:
            log.error(
                "stopping with %d readings and %d other writes not committed (kept in memory only)",
                self._memory_readings,
                len(self._held),
            )

    def _take(self) -> tuple[list[_Ticket], bool]:
        """The next group of work; wakes for a retry when kept work waits."""
        timeout = max(0.0, self._next_try - time.monotonic()) if self._waiting else None
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return [], False
        if first is None:
            return [], True
        if first.grouped:  # others join without waking this thread, until somebody waits
            self._commit_now.wait(GROUP_S)
        self._commit_now.clear()
        group = [first]
        while True:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return group, False
            if more is None:
                return group, True
            group.append(more)

    @property
    def _waiting(self) -> bool:
        return bool(self._held) or self._readings_kept

    def _handle(self, group: list[_Ticket]) -> None:
        for ticket in [t for t in group if t.read]:
            self._query(ticket)
        group = [t for t in group if not t.read]
        self._watch_file()
        self._keep_partitions()
        refusing = self.fault is not None
        if refusing and (self.fault.permanent or time.monotonic() < self._next_try):
            for ticket in group:
                self._keep(ticket) if ticket.durable else ticket.finish(self._refusal())
            return
        self._attempt(group)

    def _query(self, ticket: _Ticket) -> None:
        try:
            ticket.work(self._conn)
        except sqlite3.Error as exc:
            ticket.finish(exc)
        else:
            ticket.finish()

    def _attempt(self, group: list[_Ticket]) -> None:
        """Kept work first, in order, then the new group, in one transaction."""
        if self._readings_kept:
            for ticket in [t for t in group if t.readings]:
                self._keep(ticket)  # behind what already waits, so order holds
            group = [t for t in group if not t.readings]
        drain = self._drain()
        held = list(self._held)
        error = self._commit(held + ([drain.ticket] if drain else []) + group)
        if error is None:
            self._committed(held, drain)
            for ticket in group:
                ticket.settle()
            return
        self._refused(error)
        for ticket in group:
            self._keep(ticket) if ticket.durable else ticket.finish(self._refusal())

    @property
    def _readings_kept(self) -> bool:
        return bool(self._memory) or bool(self._spool and self._spool.waiting)

    def _drain(self) -> _Drain | None:
        """One transaction's worth of kept readings: the spool's oldest, then memory's."""
        drain = _Drain()
        readings: list[Reading] = []
        if self._spool and self._spool.waiting:
            drain.offset, readings = self._spool.next_chunk(DRAIN_CHUNK)
            drain.from_spool = len(readings)
        if drain.from_spool == (self._spool.readings if self._spool else 0):
            drain.memory = list(self._memory)  # the spool is drained whole: memory is next
            for ticket in drain.memory:
                readings += ticket.readings
        if not readings:
            return None
        rows = [sql.reading_row(r) for r in readings]
        # What this process spooled is known not to be stored; what an earlier one left may be.
        if_absent = self._recovering
        drain.ticket = _Ticket(lambda conn: sql.insert_readings(conn, rows, if_absent))
        return drain

    def _committed(self, held: list[_Ticket], drain: _Drain | None) -> None:
        for ticket in held:
            self._held.popleft()
            ticket.settle()
        if drain is not None and drain.from_spool:
            self._spool.mark_drained(drain.offset, drain.from_spool)
            emptied = not self._spool.waiting
            self._recovering = self._recovering and not emptied
            while self._spooled and (emptied or self._spooled[0][0] <= drain.offset):
                self._spooled.popleft()[1].settle()
        for ticket in drain.memory if drain else []:
            self._memory.popleft()
            self._memory_readings -= len(ticket.readings)
            ticket.settle()
        if self.fault is not None and not self._waiting:
            log.warning("%s accepts writes again; everything kept is committed", self.path)
            self.fault = None

    def _refused(self, error: BaseException) -> None:
        self._next_try = time.monotonic() + RETRY_S
        if self.fault is None:
            log.error("%s refuses writes: %s; keeping readings until it accepts", self.path, error)
            self.fault = StoreFault(utc_now(), str(error), memory_only=bool(self._memory))
        elif self.fault.reason != str(error) and not self.fault.permanent:
            self.fault = replace(self.fault, reason=str(error))

    def _refusal(self) -> StoreError:
        fault = self.fault
        since = f" since {fault.since:%H:%M:%S} UTC: {fault.reason}" if fault else ""
        return StoreError(f"the database {self.path} refuses writes{since}")

    def _keep(self, ticket: _Ticket) -> None:
        """Durable work waits: readings in the spool (else memory), the rest in memory."""
        if ticket.kept:
            return
        ticket.kept = True
        ticket.answered.set()  # its caller goes on; ``done`` follows once it is committed
        if not ticket.readings:
            self._held.append(ticket)
            return
        if self._spool is not None and not self._memory:
            try:
                end = self._spool.append(ticket.readings)
            except OSError as exc:
                log.error("spool %s refuses too (%s): kept in memory", self._spool.path, exc)
            else:
                self._spooled.append((end, ticket))
                return
        self._memory.append(ticket)
        self._memory_readings += len(ticket.readings)
        if self.fault is not None and not self.fault.memory_only:
            self.fault = replace(self.fault, memory_only=True)
        while self._memory_readings > MAX_HELD_READINGS and len(self._memory) > 1:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Beyond the stated bound the oldest readings go, counted and shouted."""
        dropped = self._memory.popleft()
        count = len(dropped.readings)
        self._memory_readings -= count
        dropped.finish(StoreError(f"dropped: over {MAX_HELD_READINGS} readings waiting in memory"))
        if self.fault is not None:
            self.fault = replace(self.fault, lost=self.fault.lost + count)
        log.error("%d readings lost: over %d waiting in memory", count, MAX_HELD_READINGS)

    def _commit(self, group: list[_Ticket]) -> BaseException | None:
        """One transaction; work whose *content* fails is rolled back alone and told so.
        Returns the store's error when the transaction as a whole failed."""
        if not group:
            return None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for ticket in group:
                self._conn.execute("SAVEPOINT work")
                try:
                    ticket.work(self._conn)
                except CONTENT_ERRORS as exc:
                    self._conn.execute("ROLLBACK TO work")
                    ticket.error = exc
                    log.error("a write was refused for its content: %s", exc)
                self._conn.execute("RELEASE work")
            self._conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._rollback(group)
            return exc
        except BaseException:
            self._rollback(group)
            raise
        return None

    def _rollback(self, group: list[_Ticket]) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        for ticket in group:
            ticket.error = None

    # -- the database file ---------------------------------------------------------------

    def _keep_partitions(self) -> None:
        """On a server, this month's and the next months' reading partitions exist before
        their readings arrive (they would land in the DEFAULT partition otherwise)."""
        if self.server is None or time.monotonic() < self._partitions_due:
            return
        try:
            pg_migrations.ensure_partitions(self._conn)
        except sqlite3.Error as exc:  # the server refuses: the commit that follows says so
            # (an account without CREATE rights, or a server that refuses: the DEFAULT
            # partition takes the readings meanwhile, so trying every few minutes is enough)
            log.warning("%s: cannot prepare the next months' partitions: %s", self.path, exc)
            self._partitions_due = time.monotonic() + PARTITIONS_S / 10
            return
        self._partitions_due = time.monotonic() + PARTITIONS_S

    def _watch_file(self) -> None:
        """Deleted, replaced or overwritten under us? Checked at most once a second."""
        if self.server is not None:
            return  # no file of ours: the server keeps its own
        if time.monotonic() - self._watched < WATCH_S or (self.fault and self.fault.permanent):
            return
        self._watched = time.monotonic()
        identity = _identity(self.path)
        if identity is None:
            self._restore_deleted()
        elif identity != self._identity:
            self._file_lost("was replaced by another file while recording")
        elif _header(self._watch_fd) != SQLITE_HEADER:
            self._file_lost("was truncated or overwritten while recording")

    def _restore_deleted(self) -> None:
        """The file was deleted while our connection still holds it: write it back whole."""
        when = utc_now()
        restoring = self.path.with_name(self.path.name + ".restoring")
        try:
            self._copy_to(restoring)
            # The old connection stays open until we close: closing the last connection to
            # the deleted file would unlink "<db>-wal" by name, the new file's WAL.
            self._orphans.append(self._conn)
            os.replace(restoring, self.path)
            self._conn = connect_writer(self.path, self.busy_s)
            self._watch_fd = _watch_descriptor(self.path)
        except (sqlite3.Error, OSError) as exc:
            self._file_lost(f"was deleted while recording and could not be restored ({exc})")
            return
        self._identity = _identity(self.path)
        self.generation += 1
        message = (
            f"the database file was deleted at {when:%H:%M:%S} UTC while recording; "
            "the recorder wrote it back from its open copy, nothing was lost"
        )
        log.error("%s: %s", self.path, message)
        self.incidents.append((when, message))

    def _copy_to(self, target: Path) -> None:
        """A consistent copy of what the write connection holds (SQLite's online backup)."""
        copy = sqlite3.connect(target)
        try:
            self._conn.backup(copy)
        finally:
            copy.close()

    def _file_lost(self, how: str) -> None:
        """Never write into a file that is no longer ours; keep readings until a restart."""
        saved = self._save_orphan()
        reason = (
            f"the database file {how}; new readings are kept in the spool until the "
            f"recorder is restarted{saved}"
        )
        log.error("%s: %s", self.path, reason)
        self.fault = StoreFault(utc_now(), reason, permanent=True)

    def _save_orphan(self) -> str:
        """What our connection still holds is copied beside the file, so nothing is lost."""
        orphan = self.path.with_name(f"{self.path.name}.orphan-{utc_now():%Y%m%dT%H%M%S}")
        try:
            self._copy_to(orphan)
        except sqlite3.Error:
            orphan.unlink(missing_ok=True)
            return ""
        return f"; what it held is saved as {orphan.name}"


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _watch_descriptor(path: Path) -> int | None:
    """A descriptor on the database file, held as long as the connection, to read its header.

    Never open and close the file beside SQLite's connection: closing any descriptor of a
    file drops all of the process's POSIX locks on it, after which another process can take
    itself for the last reader and delete the WAL this connection still writes to.
    """
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None


def _close_descriptor(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _header(fd: int | None) -> bytes:
    if fd is None:
        return SQLITE_HEADER  # nothing to check with: say nothing rather than cry wolf
    try:
        if hasattr(os, "pread"):
            return os.pread(fd, len(SQLITE_HEADER), 0)
        os.lseek(fd, 0, os.SEEK_SET)  # Windows; only the writer thread reads it
        return os.read(fd, len(SQLITE_HEADER))
    except OSError:
        return b""
