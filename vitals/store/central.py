"""The central store's side of forwarding: a site's readings and record, taken exactly once.

Several sites forward into one store (a PostgreSQL server, or a SQLite file for one small
group or the tests). Each site's chair ids are qualified there as ``"{site}/{chair}"``; rows
of the human record get ids of the central store's own, and ``forwarded_ids(site, kind,
local_id, central_id)`` maps a site's ids to them, in the same transaction as the rows. So a
batch sent again (the acknowledgment was lost, the site restarted mid-batch) changes nothing:

- a reading is keyed by chair, parameter, time and ``seq`` on both sides: ``ON CONFLICT DO
  NOTHING`` keeps the first copy;
- a link of the audit chain is applied only if it is newer than the last link the central
  store applied for that site, kept in ``forwarded_ids`` under the kind ``LINK_MARK``
  (local id 0) in the same transaction as what it applied;
- a rule set is keyed by its digest on every store (``rule_sets.py``): kept once, whichever
  site sent it first, and sessions name it by that digest, which needs no mapping. A session
  link chained before rule sets had their own table holds the whole text: it is stored as a
  rule set the same way and the session names it.

The SQL here is the portable subset both engines run (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``); the one difference, how a write transaction begins, is ``begin``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from vitals.chairs import CHAIR_ID
from vitals.errors import ConfigError, StoreError
from vitals.store import rule_sets, sql
from vitals.store.chain import CHAINED
from vitals.store.location import locate
from vitals.store.pg import is_pg
from vitals.store.upgrade import open_migrated

LINK_MARK = "audit_chain"  # forwarded_ids kind whose central_id is the last link applied
SITE_STORE = "site store"  # forwarded_ids kind whose central_id names the store of the site
APPEND_ONLY = frozenset({"events", "acknowledgments"})
RULES_TEXT = "rules_json"  # a session link's column before m015 moved the text to rule_sets
# Columns holding another chained row's id: mapped to the central row's id.
REFERENCES = {"session": "sessions", "episode": "episodes"}

STORE_READING = """
    INSERT INTO readings
        (chair_key, param_key, t_us, seq, value, quality_key, source_key, device_offset_us)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
MAP_LOOKUP = "SELECT central_id FROM forwarded_ids WHERE site = ? AND kind = ? AND local_id = ?"
MAP_ADD = "INSERT INTO forwarded_ids (site, kind, local_id, central_id) VALUES (?, ?, ?, ?)"
MARK_LINK = """
    INSERT INTO forwarded_ids (site, kind, local_id, central_id) VALUES (?, ?, 0, ?)
    ON CONFLICT (site, kind, local_id) DO UPDATE SET central_id = excluded.central_id
"""


class ForwardingError(StoreError):
    """A site's record cannot be applied as it stands (a link that refers to a row never sent)."""


def qualified(site: str, chair: str | None) -> str | None:
    return None if chair is None else f"{site}/{chair}"


# Set while a site's record is written centrally on the site's behalf: the relay writes rows
# directly; the sample generator replays two sites' sessions through the commands.
_AS_SITE: ContextVar[bool] = ContextVar("as_site", default=False)


@contextmanager
def writing_as_site() -> Iterator[None]:
    """Commands within write a site's chairs as the site's forwarding would (the sample's
    central form, which stands in for two sites' forwarded records)."""
    token = _AS_SITE.set(True)
    try:
        yield
    finally:
        _AS_SITE.reset(token)


def refuse_site_chair(chair: str) -> None:
    """A ``site/chair`` is the site's: its record is written at the site and forwarded here.
    A write made centrally would never reach the site and the two records would differ, so
    every command that changes the record refuses it."""
    site, _, local = chair.partition("/")
    well_formed = CHAIR_ID.fullmatch(site) and CHAIR_ID.fullmatch(local)  # else: not a chair id
    if well_formed and not _AS_SITE.get():
        raise ConfigError(f"{chair} belongs to site {site}: record it at the site's station")


def open_central(target: str, busy_s: float = 5.0) -> Any:
    """A write connection to the migrated central store at ``target`` (a file path or a libpq
    URL); ``busy_s``: how long a write waits for another site's lock before it counts as
    refused (the relay then backs off and tries again)."""
    return open_migrated(locate(target), busy_s)  # a server's link is watched (pg.py)


def begin(conn: Any) -> None:
    """SQLite takes the write lock at once (two sites never deadlock on an upgrade from a read
    lock); PostgreSQL's rows lock as they are written."""
    conn.execute("BEGIN" if is_pg(conn) else "BEGIN IMMEDIATE")


@contextmanager
def transaction(conn: Any) -> Iterator[None]:
    """Commit what the block did, or none of it."""
    begin(conn)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # a connection that is gone rolled back itself
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def store_chairs(conn: Any, site: str, rows: Sequence[tuple]) -> None:
    """The site's chairs (name, order, ports) under their qualified ids."""
    conn.executemany(sql.UPSERT_CHAIR, [(qualified(site, r[0]), *r[1:]) for r in rows])


def store_readings(conn: Any, site: str, rows: Sequence[tuple]) -> None:
    """Rows of (chair, param, unit, t_us, seq, value, quality, source, device offset); a
    reading the central store already holds is left as it is. The batch's few names are
    turned into the central store's keys once, so each reading is a plain row to insert."""
    if not rows:
        return
    chairs = sorted({qualified(site, r[0]) for r in rows})
    params = sorted({(r[1], r[2]) for r in rows})
    sources = sorted({r[7] for r in rows})
    conn.executemany(sql.NEW_CHAIR_KEY, [(c,) for c in chairs])
    conn.executemany(sql.NEW_PARAM_KEY, params)
    conn.executemany(sql.NEW_SOURCE_KEY, [(s,) for s in sources])
    chair_key = _keys(conn, "SELECT key FROM chair_keys WHERE chair = ?", chairs)
    param_key = _keys(conn, "SELECT key FROM params WHERE param = ? AND unit = ?", params)
    source_key = _keys(conn, "SELECT key FROM sources WHERE source = ?", sources)
    quality_key = dict((q, k) for k, q in conn.execute("SELECT key, quality FROM qualities"))
    conn.executemany(
        STORE_READING,
        [
            (chair_key[qualified(site, chair)], param_key[(param, unit)], t, seq, value,
             quality_key[quality], source_key[source], offset)
            for chair, param, unit, t, seq, value, quality, source, offset in rows
        ],
    )  # fmt: skip


def _keys(conn: Any, query: str, names: Sequence[Any]) -> dict[Any, int]:
    """Each name's key (a name is a value or a tuple of the query's parameters)."""
    keys = {}
    for name in names:
        (keys[name],) = conn.execute(query, name if isinstance(name, tuple) else (name,)).fetchone()
    return keys


def claim_site(conn: Any, site: str, store_id: int) -> None:
    """The first store to forward as ``site`` owns the id; another store claiming it would
    mix two sites' records under one map of ids, and is refused."""
    row = conn.execute(MAP_LOOKUP, (site, SITE_STORE, 0)).fetchone()
    if row is None:
        conn.execute(MAP_ADD, (site, SITE_STORE, 0, store_id))
    elif row[0] != store_id:
        raise ForwardingError(
            f"site {site} is already forwarded by another site store: give this one its own "
            "--site (two stores under one site id would mix their records)"
        )


def last_link(conn: Any, site: str) -> int:
    """The last audit-chain link of ``site`` the central store applied (0: none yet)."""
    row = conn.execute(MAP_LOOKUP, (site, LINK_MARK, 0)).fetchone()
    return row[0] if row else 0


def apply_links(conn: Any, site: str, links: Sequence[tuple]) -> int:
    """Apply audit-chain links (id, table, row id, op, content) newer than the last applied;
    returns the number applied. Run inside ``transaction``."""
    done = last_link(conn, site)
    fresh = [link for link in links if link[0] > done]
    for _, table, row_id, op, content in fresh:
        _apply(conn, site, table, row_id, op, json.loads(content))
    if fresh:
        conn.execute(MARK_LINK, (site, LINK_MARK, fresh[-1][0]))
    return len(fresh)


def _apply(conn: Any, site: str, table: str, row_id: int, op: str, row: dict) -> None:
    if table not in CHAINED:
        raise ForwardingError(f"the audit chain names a table Chairside does not forward: {table}")
    if table == "rule_sets":
        _apply_rule_set(conn, site, row_id, row)
        return
    if table == "sessions" and RULES_TEXT in row:
        row["rules_sha256"] = rule_sets.store_text(conn, row.pop(RULES_TEXT))
    central_id = _central_id(conn, site, table, row_id)
    if op == "delete":
        if central_id is not None:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (central_id,))  # noqa: S608
            conn.execute(
                "DELETE FROM forwarded_ids WHERE site = ? AND kind = ? AND local_id = ?",
                (site, table, row_id),
            )
        return
    if central_id is not None and table in APPEND_ONLY:
        return  # never changed once written, on either side
    columns = [c for c in CHAINED[table] if c != "id"]
    values = [_central_value(conn, site, table, c, row.get(c)) for c in columns]
    if central_id is None:
        names, marks = ", ".join(f'"{c}"' for c in columns), ", ".join("?" for _ in columns)
        (new_id,) = conn.execute(
            f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id",  # noqa: S608
            values,
        ).fetchone()
        conn.execute(MAP_ADD, (site, table, row_id, new_id))
        return
    settings = ", ".join(f'"{c}" = ?' for c in columns)
    conn.execute(f"UPDATE {table} SET {settings} WHERE id = ?", (*values, central_id))  # noqa: S608


def _apply_rule_set(conn: Any, site: str, row_id: int, row: dict) -> None:
    """Kept once by its digest, whichever site sent it first; one whose text does not have
    its digest is refused (the site's ``verify`` names it too)."""
    text = row[RULES_TEXT]
    if rule_sets.digest(text) != row["sha256"]:
        raise ForwardingError(f"rule set {row_id} of site {site} does not match its digest")
    rule_sets.store_text(conn, text)


def _central_value(conn: Any, site: str, table: str, column: str, value: Any) -> Any:
    """A site's value as the central store holds it: chairs qualified, ids mapped."""
    if column == "chair":
        return qualified(site, value)
    if (
        column == "rules_sha256"
        and not conn.execute("SELECT 1 FROM rule_sets WHERE sha256 = ?", (value,)).fetchone()
    ):
        raise ForwardingError(
            f"{table} of site {site} names rule set {value}, which was never forwarded"
        )
    referenced = REFERENCES.get(column)
    if referenced is None or value is None:
        return value
    central_id = _central_id(conn, site, referenced, value)
    if central_id is None:
        raise ForwardingError(
            f"{table} of site {site} refers to {referenced} row {value}, which was never forwarded"
        )
    return central_id


def _central_id(conn: Any, site: str, kind: str, local_id: int) -> int | None:
    row = conn.execute(MAP_LOOKUP, (site, kind, local_id)).fetchone()
    return row[0] if row else None
