"""The site's side of copying to a central store: what waits to be sent, and how far it got.

A site's recorder writes to its own SQLite first; a relay thread copies to the central store
(another SQLite file or a PostgreSQL server, ``vitals/store/central.py``). Three streams, each
with a watermark that moves only after the central store has committed what it covers, so a
restart or a lost acknowledgment makes the relay send again, never lose:

- **readings** through ``relay_outbox``: a trigger adds every reading's key as it is inserted
  (in the same transaction, so a reading the store holds is always in the outbox or already
  confirmed); confirmed rows are deleted, so the outbox is exactly what waits. The trigger is
  installed when forwarding is first enabled, so a clinic that never forwards pays nothing;
- **history** stored before that: walked once in key order (chair, parameter, time), its
  cursor kept in ``relay_state.backfill_json`` (NULL once done). A reading inserted during the
  walk may be sent twice; the central store keeps it once (its key);
- **the human record** (rule sets, sessions, events, episodes, acknowledgments) through the
  audit chain's ordered links (``chain.py``): each link holds a row's whole content after a
  change, so applying the links in order gives the central store the same record (a rule
  set's link comes before the first session link that names it).

Lag, last success and the last error (in a nurse's words) are kept in ``relay_state`` for the
overview's banner and ``doctor``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vitals.chairs import CHAIR_ID
from vitals.errors import ConfigError
from vitals.store.upgrade import open_migrated

Work = Callable[[sqlite3.Connection], None]
SITE_RULE = "letters, digits, - and _ (at most 40)"

OUTBOX_TRIGGER = "relay_outbox_fill"
INSTALL_OUTBOX = f"""
    CREATE TRIGGER IF NOT EXISTS {OUTBOX_TRIGGER} AFTER INSERT ON readings BEGIN
        INSERT INTO relay_outbox (chair_key, param_key, t_us, seq)
        VALUES (NEW.chair_key, NEW.param_key, NEW.t_us, NEW.seq);
    END
"""  # noqa: S608 (a constant name)
# A reading as the central store takes it: its names, not this store's keys.
_READING_COLUMNS = """
    c.chair, p.param, p.unit, r.t_us, r.seq, r.value, q.quality, s.source, r.device_offset_us
"""
_NAMES = """
    JOIN chair_keys c ON c.key = r.chair_key
    JOIN params p ON p.key = r.param_key
    JOIN qualities q ON q.key = r.quality_key
    JOIN sources s ON s.key = r.source_key
"""
OUTBOX_BATCH = f"""
    SELECT o.id, {_READING_COLUMNS}
    FROM relay_outbox o
    JOIN readings r ON r.chair_key = o.chair_key AND r.param_key = o.param_key
                   AND r.t_us = o.t_us AND r.seq = o.seq
    {_NAMES}
    ORDER BY o.id LIMIT ?
"""  # noqa: S608 (constants only)
BACKFILL_BATCH = f"""
    SELECT r.chair_key, r.param_key, {_READING_COLUMNS}
    FROM readings r {_NAMES}
    WHERE (r.chair_key, r.param_key, r.t_us, r.seq) > (?, ?, ?, ?)
    ORDER BY r.chair_key, r.param_key, r.t_us, r.seq LIMIT ?
"""  # noqa: S608 (constants only)
LINKS_AFTER = (
    "SELECT id, tbl, row_id, op, content FROM audit_chain WHERE id > ? ORDER BY id LIMIT ?"
)
START = (-1, -1, -1, -1)  # before every key
CURRENT_S = 30.0  # the relay sends every second: under this, the central copy is current
RELAY_STALE_S = 120.0  # it says it is alive at least every minute, even while backing off


@dataclass(frozen=True)
class Batch:
    """Readings to send (central rows) and where the stream stands once they are confirmed."""

    rows: list[tuple]
    upto: int | tuple | None  # last outbox id, or backfill cursor (None: history all sent)


def check_site(site: str) -> str:
    """A site id qualifies every chair id on the central store: the chair ids' rule."""
    if not CHAIR_ID.fullmatch(site):
        raise ConfigError(f"--site {site!r} is not a site id: use {SITE_RULE}")
    return site


# -- what the relay reads (its own read-only connection) -----------------------------------


def forwarding_state(conn: sqlite3.Connection) -> dict | None:
    """The relay's row, or None when this store never forwarded (or predates forwarding)."""
    try:
        row = conn.execute(
            "SELECT site, target, enabled_us, links_sent, readings_sent, backfill_json, beat_us,"
            " last_success_us, down_since_us, last_error, failures, store_id FROM relay_state"
        ).fetchone()
    except sqlite3.OperationalError:  # a store from before m012_central_relay
        return None
    if row is None:
        return None
    keys = [
        "site",
        "target",
        "enabled_us",
        "links_sent",
        "readings_sent",
        "backfill",
        "beat_us",
        "last_success_us",
        "down_since_us",
        "last_error",
        "failures",
        "store_id",
    ]
    state = dict(zip(keys, row, strict=True))
    state["backfill"] = tuple(json.loads(row[5])) if row[5] is not None else None
    return state


def outbox_batch(conn: sqlite3.Connection, limit: int) -> Batch:
    """The oldest readings waiting, in the order they were stored."""
    found = conn.execute(OUTBOX_BATCH, (limit,)).fetchall()
    if not found:
        return Batch([], None)
    return Batch([row[1:] for row in found], found[-1][0])


def backfill_batch(conn: sqlite3.Connection, cursor: tuple, limit: int) -> Batch:
    """The next readings of the history stored before forwarding began, in key order."""
    found = conn.execute(BACKFILL_BATCH, (*cursor, limit)).fetchall()
    if len(found) < limit:
        return Batch([row[2:] for row in found], None)  # the walk reached the end
    last = found[-1]
    return Batch([row[2:] for row in found], (last[0], last[1], last[5], last[6]))


def links_after(conn: sqlite3.Connection, after: int, limit: int) -> list[tuple]:
    """Audit-chain links (id, table, row id, op, content JSON) after ``after``, in order."""
    return conn.execute(LINKS_AFTER, (after, limit)).fetchall()


def chair_rows(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT chair, name, position, port, protocol, heart_rate_json, no_data_after_s"
        " FROM chairs ORDER BY position"
    ).fetchall()


# -- what the relay writes (through the recorder's single writer) --------------------------


def enable(site: str, target: str, now_us: int) -> Work:
    """Install the outbox trigger and the relay's row; a new target starts from the beginning
    (it needs the whole history), the same target continues where it stood."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(INSTALL_OUTBOX)
        conn.execute(
            "INSERT INTO relay_state (id, site, store_id, target, enabled_us, backfill_json)"
            " VALUES (1, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET site = excluded.site, target = excluded.target,"
            " enabled_us = excluded.enabled_us, links_sent = 0,"
            " backfill_json = excluded.backfill_json WHERE target IS NOT excluded.target",
            (site, secrets.randbits(62), target, now_us, json.dumps(START)),
        )

    return work


def send_history_again(db: Path) -> dict:
    """Walk the site's whole history once more (after the central store was restored from a
    backup that predates what it had confirmed); the central store keeps each reading once.
    The running relay takes it up within seconds. Returns the relay's state."""
    conn = open_migrated(db)
    try:
        state = forwarding_state(conn)
        if state is None:
            raise ConfigError(f"{db} does not forward: start its recorder with --forward first")
        conn.execute("UPDATE relay_state SET backfill_json = ?", (json.dumps(START),))
    finally:
        conn.close()
    return state


def readings_confirmed(upto: int, count: int, now_us: int) -> Work:
    def work(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM relay_outbox WHERE id <= ?", (upto,))
        _success(conn, now_us, "readings_sent = readings_sent + ?", count)

    return work


def backfill_confirmed(was: tuple, cursor: tuple | None, count: int, now_us: int) -> Work:
    """The walk moves from ``was`` to ``cursor`` (None: done), unless ``resend`` restarted it
    meanwhile: then the restart stands and the relay finds it when idle."""
    text = json.dumps(cursor) if cursor is not None else None

    def work(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE relay_state SET backfill_json = ? WHERE backfill_json = ?",
            (text, json.dumps(was)),
        )
        _success(conn, now_us, "readings_sent = readings_sent + ?", count)

    return work


def links_confirmed(upto: int, now_us: int) -> Work:
    return lambda conn: _success(conn, now_us, "links_sent = ?", upto)


def still_up(now_us: int) -> Work:
    """Nothing to send, and the central store answered: up to date, alive."""
    return lambda conn: _success(conn, now_us)


def _success(conn: sqlite3.Connection, now_us: int, counter: str = "", value: object = 0) -> None:
    """The central store took it: alive, and the link is up again. ``counter``: one of the
    constant assignments above, moved in the same statement."""
    conn.execute(
        f"UPDATE relay_state SET {counter + ', ' if counter else ''}beat_us = ?,"  # noqa: S608
        " last_success_us = ?, down_since_us = NULL, last_error = ''",
        (value, now_us, now_us) if counter else (now_us, now_us),
    )


def failed(error: str, now_us: int) -> Work:
    """The central store did not take it: since when, why, and how often (counted)."""
    return lambda conn: conn.execute(
        "UPDATE relay_state SET beat_us = ?, down_since_us = coalesce(down_since_us, ?),"
        " last_error = ?, failures = failures + 1",
        (now_us, now_us, error),
    )


# -- what the station and doctor show ------------------------------------------------------


@dataclass(frozen=True)
class RelayStatus:
    """How far the central store is behind this site, for the banner and ``doctor``."""

    site: str
    target: str  # a path or a URL (never with a password): show it through location.describe
    readings_waiting: int
    links_waiting: int
    oldest_waiting_us: int | None  # the oldest reading not yet confirmed
    history_pending: bool  # readings stored before forwarding began are still being sent
    beat_us: int | None
    last_success_us: int | None
    down_since_us: int | None
    last_error: str
    failures: int

    def behind_s(self, now_us: int) -> float:
        """How old the oldest unconfirmed part of the record is (0 when nothing waits)."""
        if self.readings_waiting and self.oldest_waiting_us is not None:
            return max(0.0, (now_us - self.oldest_waiting_us) / 1e6)
        if self.links_waiting:
            since = self.last_success_us or self.beat_us or now_us
            return max(0.0, (now_us - since) / 1e6)
        return 0.0

    @property
    def up_to_date(self) -> bool:
        return not (self.readings_waiting or self.links_waiting or self.history_pending)

    def describe(self, now_us: int, clock: Callable[[int], str]) -> tuple[bool, str]:
        """Whether it needs a look, and the station's sentence ("Central review: up to date",
        "Central review 12 min behind — 2,345 readings waiting; link down since 10:02 (…)");
        ``clock`` writes a time in the clinic's words."""
        if self.beat_us is not None and (now_us - self.beat_us) / 1e6 > RELAY_STALE_S:
            ago = span_words((now_us - self.beat_us) / 1e6)
            return True, f"Central review: nothing sent for {ago} — the relay is not running"
        behind = self.behind_s(now_us)
        down = self.down_since_us
        if down is None and behind < CURRENT_S and not self.history_pending:
            return False, "Central review: up to date"
        head = (
            f"Central review {span_words(behind)} behind"
            if behind >= CURRENT_S
            else ("Central review")
        )
        line = f"{head} — {self.readings_waiting:,} readings waiting"
        if self.links_waiting:
            line += f", {self.links_waiting:,} changes to the record"
        if self.history_pending:
            line += "; sending the history recorded before forwarding began"
        if down is not None:
            line += f"; link down since {clock(down)} ({self.last_error})"
        return down is not None or behind >= CURRENT_S, line


def span_words(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def relay_status(conn: sqlite3.Connection) -> RelayStatus | None:
    """None when this store was never set to forward."""
    state = forwarding_state(conn)
    if state is None:
        return None
    # The outbox's ids are handed out in order and confirmed rows leave from the front, so
    # what waits is one run of ids: two probes, however long the outage (a page asks every
    # second; count(*) would read every row).
    first, last = conn.execute("SELECT min(id), max(id) FROM relay_outbox").fetchone()
    waiting = last - first + 1 if first is not None else 0
    oldest = conn.execute("SELECT t_us FROM relay_outbox WHERE id = ?", (first,)).fetchone()
    (links,) = conn.execute(
        "SELECT count(*) FROM audit_chain WHERE id > ?", (state["links_sent"],)
    ).fetchone()
    return RelayStatus(
        state["site"],
        state["target"],
        waiting,
        links,
        oldest[0] if oldest else None,
        state["backfill"] is not None,
        state["beat_us"],
        state["last_success_us"],
        state["down_since_us"],
        state["last_error"],
        state["failures"],
    )
