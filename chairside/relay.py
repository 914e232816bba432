"""The central relay: copies this site's store to the central store, beside acquisition.

Acquisition never waits for the WAN: workers commit to the site's own SQLite as always, and
this thread copies what was committed (``vitals/store/relay.py`` says what waits, ``central.py``
how the central store takes it). Each batch is committed on the central store first; only
then does the site's watermark move (through the recorder's single writer). A lost
acknowledgment, a restart mid-batch or a crash resends, and the central store keeps each
reading and each change once.

When the central store cannot be reached the relay backs off (1 s doubling to a minute),
reconnects and catches up in large batches; what waits stays on the site's disk, never in
memory. A server that accepts the connection but never answers (stopped, swamped) is given up
after ``ANSWER_S``: a watchdog hangs up the stuck connection, and the step fails like a cut
link. Every failure is counted and written to the site's store in a nurse's words
(``relay_words.py``: the overview's banner, ``doctor``); the log has the first failure of an
outage with its traceback, then one line per retry (a fault of unexpected kind always keeps
its traceback). The recorder restarts the thread if it ever ends. An outage is shown, never
alarmed as a patient alert.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chairside.relay_words import NO_ANSWER, in_words, is_expected
from chairside.supervised import Supervised
from vitals.errors import ChairsideError, ConfigError
from vitals.reading import utc_now
from vitals.store import StoreWriter, central, connect_readonly, relay
from vitals.store.location import describe
from vitals.times import to_us

READINGS_BATCH = 5_000  # readings per central transaction: one round trip's worth
LINKS_BATCH = 500
POLL_S = 1.0  # how often an idle relay looks for new work
STATE_EVERY_S = 5.0  # how often an idle relay says it is alive
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 60.0
# A step (one batch, or connecting) that takes longer is given up: the server does not answer.
# TCP keepalives cannot see a stopped server (its kernel still acknowledges), so the relay
# keeps its own watch. A 5,000-reading batch takes well under a second on a clinic's WAN.
ANSWER_S = 30.0
log = logging.getLogger("chairside.relay")


@dataclass(frozen=True)
class RelayTarget:
    """Where this site forwards (a file path or a libpq URL) and the site's id there."""

    target: str
    site: str

    def describe(self) -> str:
        """What logs and pages may show: never a secret."""
        return describe(self.target)


class CentralRelay(Supervised):
    """One thread; ``step`` sends one batch of whichever stream has work, record first."""

    def __init__(
        self,
        writer: StoreWriter,
        target: RelayTarget,
        stop: threading.Event,
        opener: Callable[[str], Any] = central.open_central,
        readings_batch: int = READINGS_BATCH,
        poll_s: float = POLL_S,
        answer_s: float = ANSWER_S,
    ) -> None:
        self.writer, self.target, self._stop = writer, target, stop
        self.site = relay.check_site(target.site)
        self.opener = opener
        self.readings_batch = readings_batch
        self.poll_s = poll_s
        self.answer_s = answer_s
        self.failures = 0  # cycles that failed (link down, central refused, a fault)
        self._outage = 0  # failures since the central store last took something
        self._hung_up = False  # the watchdog gave up the current step
        self.restarts = 0  # times the recorder started the thread again
        self._local: sqlite3.Connection | None = None
        self._generation = writer.generation  # the writer's file, reopened when it changes
        self._central: Any = None
        self._connecting: Any = None  # a connection being set up (the watchdog may hang it up)
        self._links_from = 0
        self._backfill: tuple | None = None
        self._store_id = 0  # this store's claim on the site id (set by ``enable``)
        self._beat_at = 0.0
        self._thread = self._new_thread()

    # -- enabling and supervision ----------------------------------------------------------

    def enable(self) -> None:
        """Before acquisition starts: install the outbox (with the history as a backfill)."""
        state = self._read(relay.forwarding_state)
        if state is not None and state["site"] != self.site:
            raise ConfigError(
                f"{self.writer.path} forwards as site {state['site']!r}, not {self.site!r}: a "
                "site keeps its id (its chairs are known by it on the central store)"
            )
        self.writer.apply(relay.enable(self.site, self.target.target, to_us(utc_now())))
        state = self._read(relay.forwarding_state)
        self._backfill, self._store_id = state["backfill"], state["store_id"]

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self.run, name="central-relay", daemon=True)

    def restart(self) -> None:
        """The recorder's supervision: a thread that ended unasked is started again, counted."""
        self.restarts += 1
        self._close()
        why = f"the relay stopped unexpectedly and was started again ({self.restarts} so far)"
        try:
            self.writer.apply(relay.failed(why, self._now()))
        except ChairsideError as exc:
            log.error("site %s: cannot record the relay's restart: %s", self.site, exc)
        super().restart()

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        """Send until stopped; any failure backs off, reconnects and sends again."""
        backoff = BACKOFF_FIRST_S
        try:
            while not self._stop.is_set():
                try:
                    sent = self._watched_step()
                except Exception as exc:  # survive and shout: the next try resends
                    self._failed(exc)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                    continue
                backoff = BACKOFF_FIRST_S
                if not sent:
                    self._stop.wait(self.poll_s)
        finally:
            self._close()

    def _watched_step(self) -> bool:
        """``step`` with a deadline: past ``answer_s`` the central connection is hung up, so a
        statement waiting on a stuck server fails at once."""
        self._hung_up = False
        watchdog = threading.Timer(self.answer_s, self._hang_up)
        watchdog.daemon = True
        watchdog.start()
        try:
            return self.step()
        finally:
            watchdog.cancel()

    def _hang_up(self) -> None:
        """The watchdog's thread: the relay's thread is stuck in a call to the server."""
        self._hung_up = True
        for conn in (self._central, self._connecting):
            hang_up = getattr(conn, "hang_up", None)  # a server's connection; a file never hangs
            if hang_up is not None:
                hang_up()

    def step(self) -> bool:
        """One batch of the human record, else of new readings and of the history; True
        when something was sent (the caller loops at once to catch up)."""
        local, remote = self._connect()
        if self._send_links(local, remote):
            return True
        sent = self._send_outbox(local, remote)
        if self._backfill is not None:  # beside the live readings, never starved by them
            self._send_history(local, remote)
            return True
        if sent:
            return True
        now = time.monotonic()
        if now - self._beat_at >= STATE_EVERY_S:  # nothing waits: say the link is up
            remote.execute("SELECT 1").fetchone()
            self._confirmed(relay.still_up(to_us(utc_now())))
            self._backfill = relay.forwarding_state(local)["backfill"]  # `resend` asked?
        return False

    def _send_links(self, local: sqlite3.Connection, remote: Any) -> bool:
        links = relay.links_after(local, self._links_from, LINKS_BATCH)
        if not links:
            return False
        with central.transaction(remote):
            central.apply_links(remote, self.site, links)
        self._links_from = links[-1][0]
        self._confirmed(relay.links_confirmed(self._links_from, self._now()))
        return True

    def _send_outbox(self, local: sqlite3.Connection, remote: Any) -> bool:
        batch = relay.outbox_batch(local, self.readings_batch)
        if not batch.rows:
            return False
        with central.transaction(remote):
            central.store_readings(remote, self.site, batch.rows)
        self._confirmed(relay.readings_confirmed(batch.upto, len(batch.rows), self._now()))
        return True

    def _send_history(self, local: sqlite3.Connection, remote: Any) -> None:
        batch = relay.backfill_batch(local, self._backfill, self.readings_batch)
        with central.transaction(remote):
            central.store_readings(remote, self.site, batch.rows)
        was = self._backfill
        self._confirmed(relay.backfill_confirmed(was, batch.upto, len(batch.rows), self._now()))
        self._backfill = batch.upto
        if batch.upto is None:
            log.info("site %s: the history stored before forwarding began is all sent", self.site)

    def _confirmed(self, work: relay.Work) -> None:
        """The central store committed: move the site's watermark (a failure here resends)."""
        self.writer.apply(work)
        self._beat_at = time.monotonic()
        if self._outage:
            log.info(
                "site %s: the central store takes the copy again (after %d failed tries)",
                self.site,
                self._outage,
            )
            self._outage = 0

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> tuple[sqlite3.Connection, Any]:
        if self._local is not None and self._generation != self.writer.generation:
            _close_quietly(self._local)  # the file was written back: read the new one
            self._local = None
        if self._local is None:
            self._generation = self.writer.generation
            self._local = connect_readonly(self.writer.path, check_same_thread=False)
        if self._central is None:
            remote = self._connecting = self.opener(self.target.target)
            try:
                with central.transaction(remote):
                    central.claim_site(remote, self.site, self._store_id)
                    central.store_chairs(remote, self.site, relay.chair_rows(self._local))
                self._links_from = central.last_link(remote, self.site)
            except BaseException:
                _close_quietly(remote)
                raise
            finally:
                self._connecting = None
            self._central = remote
            log.info("site %s: connected to %s", self.site, self.target.describe())
        return self._local, self._central

    def _close(self) -> None:
        for conn in (self._central, self._local):
            if conn is not None:
                _close_quietly(conn)
        self._central = self._local = None

    def _read(self, query: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = connect_readonly(self.writer.path)
        try:
            return query(conn)
        finally:
            conn.close()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self._outage += 1
        if self._hung_up:  # the watchdog ended the step: whatever the hang-up raised
            words = f"{NO_ANSWER}: nothing back for {self.answer_s:g} s"
        else:
            words = in_words(exc)
        if self._outage == 1 or not is_expected(exc):  # the traceback once per outage
            log.error(
                "site %s: forwarding to the central store failed (%d so far): %s",
                self.site,
                self.failures,
                words,
                exc_info=exc,
            )
        else:
            log.warning(
                "site %s: forwarding still fails (try %d of this outage, %d so far): %s [%s: %s]",
                self.site,
                self._outage,
                self.failures,
                words,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
        self._close()  # reconnect: the connection may be half-dead after a cut link
        try:
            self.writer.apply(relay.failed(words, self._now()))
        except ChairsideError as store_exc:  # the site's own store refuses: the banner waits
            log.error("site %s: cannot record the forwarding failure: %s", self.site, store_exc)

    @staticmethod
    def _now() -> int:
        return to_us(utc_now())


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:  # the link is already gone
        log.debug("closing a connection: %s", exc)
