"""The central relay: copies this site's store to the central store, beside acquisition.

Acquisition never waits for the WAN: workers commit to the site's own SQLite as always, and
this thread copies what was committed (``vitals/store/relay.py`` says what waits, ``central.py``
how the central store takes it). Each batch is committed on the central store first; only
then does the site's watermark move (through the recorder's single writer). A lost
acknowledgment, a restart mid-batch or a crash resends, and the central store keeps each
reading and each change once.

When the central store cannot be reached the relay backs off (1 s doubling to a minute),
reconnects and catches up in large batches; what waits stays on the site's disk, never in
memory. Every failure is logged with its traceback, counted and written to the site's store
in a nurse's words (the overview's banner, ``doctor``); the recorder restarts the thread if
it ever ends. An outage is shown, never alarmed as a patient alert.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chairside.supervised import Supervised
from vitals.errors import ChairsideError, ConfigError, StoreError
from vitals.reading import utc_now
from vitals.store import StoreWriter, central, connect_readonly, relay
from vitals.store.central import ForwardingError
from vitals.store.location import describe
from vitals.times import to_us

READINGS_BATCH = 5_000  # readings per central transaction: one round trip's worth
LINKS_BATCH = 500
POLL_S = 1.0  # how often an idle relay looks for new work
STATE_EVERY_S = 5.0  # how often an idle relay says it is alive
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 60.0
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
    ) -> None:
        self.writer, self.target, self._stop = writer, target, stop
        self.site = relay.check_site(target.site)
        self.opener = opener
        self.readings_batch = readings_batch
        self.poll_s = poll_s
        self.failures = 0  # cycles that failed (link down, central refused, a fault)
        self.restarts = 0  # times the recorder started the thread again
        self._local: sqlite3.Connection | None = None
        self._generation = writer.generation  # the writer's file, reopened when it changes
        self._central: Any = None
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
                    sent = self.step()
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
            self.writer.apply(relay.still_up(to_us(utc_now())))
            self._beat_at = now
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

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> tuple[sqlite3.Connection, Any]:
        if self._local is not None and self._generation != self.writer.generation:
            _close_quietly(self._local)  # the file was written back: read the new one
            self._local = None
        if self._local is None:
            self._generation = self.writer.generation
            self._local = connect_readonly(self.writer.path, check_same_thread=False)
        if self._central is None:
            remote = self.opener(self.target.target)
            try:
                with central.transaction(remote):
                    central.claim_site(remote, self.site, self._store_id)
                    central.store_chairs(remote, self.site, relay.chair_rows(self._local))
                self._links_from = central.last_link(remote, self.site)
            except BaseException:
                _close_quietly(remote)
                raise
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
        words = in_words(exc)
        log.error(
            "site %s: forwarding to the central store failed (%d so far): %s",
            self.site,
            self.failures,
            words,
            exc_info=exc,
        )
        self._close()  # reconnect: the connection may be half-dead after a cut link
        try:
            self.writer.apply(relay.failed(words, self._now()))
        except ChairsideError as store_exc:  # the site's own store refuses: the banner waits
            log.error("site %s: cannot record the forwarding failure: %s", self.site, store_exc)

    @staticmethod
    def _now() -> int:
        return to_us(utc_now())


def in_words(exc: BaseException) -> str:
    """Why the central store did not take the copy, as the station shows it (the details and
    traceback are in the recorder's log)."""
    if isinstance(exc, ForwardingError | ConfigError):
        return str(exc)  # our own sentence
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "the central store is busy (another site is writing)"
    if ("disk" in text and "full" in text) or "no space" in text:
        return "the central store's disk is full"
    if "password" in text or "authentication" in text or "permission" in text:
        return "the central store refused this site's sign-in (check its user and PGPASSFILE)"
    if isinstance(exc, StoreError) and "newer" in text:
        return "the central store was upgraded by a newer Chairside: upgrade this site too"
    if isinstance(exc, StoreError | OSError | sqlite3.Error):  # psycopg's come as sqlite3's
        return "the central store cannot be reached"
    return f"forwarding fault ({type(exc).__name__}); see the recorder's log"


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:  # the link is already gone
        log.debug("closing a connection: %s", exc)
