"""The audit chain: every change to the human record is linked into one hash chain.

Rule sets, sessions, events, acknowledgments and alert episodes are the record an
auditor reads; the recorder updates episodes as they evolve and people change sessions.
Triggers append every insert, update and delete of those tables to ``audit_chain`` in the
same transaction as the change: the row's full content (``json_object`` of its columns),
the previous link's hash, and a SHA-256 over both. So a change made through Chairside is
always chained, and a change made any other way is found by ``verify``:

- an edit with the triggers in place fails (the hash function exists only in Chairside's
  own connections; ``sqlite3`` on the file has none);
- an edit after dropping the triggers leaves the row unlike its last chained content;
- an edit of the chain itself breaks a hash or a ``prev`` link;
- dropped or altered triggers are reported by name.

What a chain alone cannot stop is someone who rewrites the whole chain after the fact: the
head hash that ``verify`` prints, kept in backups and in the daily log, is the anchor that
finds that (a backup's chain must be a prefix of the live one: ``verify_prefix``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from vitals.store import rule_sets
from vitals.store.pg import CHAIN_LOCK, is_pg

HASH_FUNCTION = "chairside_chain_hash"

# Every column of each chained table, in the order they are hashed. A migration that adds a
# column to one of these tables must add it here and re-link the table (``relink``, on
# either engine): its triggers re-created, every row's full content linked again.
# Rule sets come first: a rule set is linked before the first session that refers to it.
CHAINED: dict[str, tuple[str, ...]] = {
    "rule_sets": ("id", "sha256", "rules_json"),
    "sessions": (
        "id", "chair", "patient", "protocol", "started_us", "started_by", "ended_us",
        "ended_by", "dose_us", "weight_kg", "dose_mg", "rules_sha256", "rules_changed_us",
        "baseline_json", "discharge",
    ),
    "events": ("id", "session", "chair", "t_us", "kind", "text", "value", "by", "recorded_us"),
    "acknowledgments": ("id", "episode", "by", "t_us", "comment", "level_seen"),
    "episodes": (
        "id", "chair", "session", "rule", "rule_json", "param", "kind", "level", "started_us",
        "ended_us", "peak_value", "peak_us", "reason", "triggers_json",
    ),
}  # fmt: skip
# The chain as m011 and pg001 installed it, when each session held its rules' whole text: a
# migration that has shipped installs what it installed then (m015 and pg004 moved the text
# into ``rule_sets``).
CHAINED_WITH_RULES_TEXT: dict[str, tuple[str, ...]] = {
    table: tuple("rules_json" if c == "rules_sha256" else c for c in columns)
    for table, columns in CHAINED.items()
    if table != "rule_sets"
}
Chained = Mapping[str, tuple[str, ...]]

CHANGES = ("insert", "update", "delete")
_NOW_US = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
_PG_NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT"
_HEAD = "coalesce((SELECT hash FROM audit_chain ORDER BY id DESC LIMIT 1), '')"


def link_hash(prev: str, table: str, row_id: int, op: str, content: str, t_us: int) -> str:
    """SHA-256 over one link; the same function runs in SQL (triggers) and in ``verify``."""
    text = "\x1f".join((prev, table, str(row_id), op, content, str(t_us)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def register(conn: sqlite3.Connection) -> None:
    """Give a write connection the hash function the chain's triggers call."""
    conn.create_function(HASH_FUNCTION, 6, link_hash, deterministic=True)


def content_sql(table: str, prefix: str = "", chained: Chained = CHAINED) -> str:
    """``json_object`` of a row's columns (``prefix`` NEW. or OLD. inside a trigger)."""
    pairs = ", ".join(f"'{c}', {prefix}{_quoted(c)}" for c in chained[table])
    return f"json_object({pairs})"


def _quoted(column: str) -> str:
    return f'"{column}"'


def trigger_name(table: str, op: str) -> str:
    return f"audit_chain_{table}_{op}"


def trigger_sql(table: str, op: str, chained: Chained = CHAINED) -> str:
    """The trigger that chains one kind of change (``insert``, ``update``, ``delete``)."""
    row = "OLD" if op == "delete" else "NEW"
    content = content_sql(table, row + ".", chained)
    when = ""
    if op == "update":  # the recorder re-writes unchanged episodes: chain only real changes
        when = f"WHEN {content_sql(table, 'OLD.', chained)} IS NOT {content}"
    # table and column names come from CHAINED, never from input
    head = f"CREATE TRIGGER {trigger_name(table, op)} AFTER {op.upper()} ON {table} {when}"
    return (
        f"{head} BEGIN "  # noqa: S608
        f"INSERT INTO audit_chain (tbl, row_id, op, content, t_us, prev, hash) "
        f"SELECT '{table}', {row}.id, '{op}', c, t, p, {HASH_FUNCTION}(p, '{table}', {row}.id, "
        f"'{op}', c, t) FROM (SELECT {content} AS c, {_NOW_US} AS t, "
        f"{_HEAD} AS p); END"
    )


CHAIN_TABLE = """
    CREATE TABLE audit_chain (
        id INTEGER PRIMARY KEY,
        tbl TEXT NOT NULL,
        row_id INTEGER NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('existing', 'insert', 'update', 'delete')),
        content TEXT NOT NULL,
        t_us INTEGER NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    )
"""

APPEND_ONLY = {
    "audit_chain_append_only_u": "UPDATE",
    "audit_chain_append_only_d": "DELETE",
}
# Triggers whose loss ``verify`` reports: the table each guards, and what its loss allows.
GUARDS = {
    **dict.fromkeys(APPEND_ONLY, ("audit_chain", "the chain could be rewritten")),
    **dict.fromkeys(rule_sets.APPEND_ONLY, ("rule_sets", "rule sets could be rewritten")),
}


def install(conn: sqlite3.Connection, chained: Chained = CHAINED) -> None:
    """Create the chain, link every row already stored (op ``existing``), add the triggers
    (``chained``: the tables and columns to chain, as the calling migration knew them)."""
    register(conn)
    conn.execute(CHAIN_TABLE)
    for name, op in APPEND_ONLY.items():
        conn.execute(
            f"CREATE TRIGGER {name} BEFORE {op} ON audit_chain BEGIN SELECT RAISE(ABORT, "
            f"'the audit chain is append-only: never {op.lower()}d'); END"
        )
    for table in chained:
        _link_existing(conn, table, chained)
        for op in CHANGES:
            conn.execute(trigger_sql(table, op, chained))


def relink(conn: sqlite3.Connection, table: str) -> None:
    """After ``table``'s columns in ``CHAINED`` changed (or the table joined it): its
    triggers made to chain what is listed now, and every row linked again (op ``existing``)
    with its full current content, so ``verify`` compares those columns from now on (the
    older links never held them). On PostgreSQL the triggers call one function a table,
    re-created with them; the chain's lock keeps the head while the rows are linked."""
    if is_pg(conn):
        conn.execute(pg_function_sql(table))
        for op in CHANGES:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, op)} ON {table}")
            conn.execute(pg_trigger_sql(table, op))
        conn.execute(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
    else:
        register(conn)
        for op in CHANGES:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, op)}")
            conn.execute(trigger_sql(table, op))
    _link_existing(conn, table)


def _link_existing(conn: sqlite3.Connection, table: str, chained: Chained = CHAINED) -> None:
    """One ``existing`` link a row of ``table``, in id order, with the row's content now."""
    if is_pg(conn):
        content = pg_content_sql(table, table, chained)
    else:
        content = content_sql(table, chained=chained)
    rows = conn.execute(f"SELECT id, {content} FROM {table} ORDER BY id")  # noqa: S608
    for row_id, row_content in rows.fetchall():
        _append(conn, table, row_id, "existing", row_content)


def _append(conn: sqlite3.Connection, table: str, row_id: int, op: str, content: str) -> None:
    now = _PG_NOW_US if is_pg(conn) else _NOW_US
    prev, t_us = conn.execute(f"SELECT {_HEAD}, {now}").fetchone()
    conn.execute(
        "INSERT INTO audit_chain (tbl, row_id, op, content, t_us, prev, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (table, row_id, op, content, t_us, prev, link_hash(prev, table, row_id, op, content, t_us)),
    )


# The same chain on PostgreSQL (vitals/store/pg_migrations.py): plpgsql triggers, the
# database's sha256 over the same text as link_hash.
PG_HASH_FUNCTION = """
    CREATE FUNCTION chairside_chain_hash(prev TEXT, tbl TEXT, row_id BIGINT, op TEXT,
                                         content TEXT, t_us BIGINT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT encode(sha256(convert_to(
            concat_ws(chr(31), prev, tbl, row_id::TEXT, op, content, t_us::TEXT), 'UTF8')), 'hex')
    $$
"""


def pg_content_sql(table: str, row: str, chained: Chained = CHAINED) -> str:
    """The chained content of a row (``row`` NEW, OLD, or a table alias) as JSON text."""
    pairs = ", ".join(f"'{c}', {row}.\"{c}\"" for c in chained[table])
    return f"json_build_object({pairs})::TEXT"


def pg_function_name(table: str) -> str:
    return f"audit_chain_{table}"


def pg_function_body(table: str, chained: Chained = CHAINED) -> str:
    """The plpgsql that appends one link for a change to ``table`` (``verify`` compares the
    installed function with this text, as it compares the SQLite triggers' SQL)."""
    # table and column names come from CHAINED, never from input
    return f"""
    DECLARE
        row_id BIGINT;
        c TEXT;
        p TEXT;
        t BIGINT;
        op TEXT := lower(TG_OP);
    BEGIN
        IF TG_OP = 'DELETE' THEN
            row_id := OLD.id;
            c := {pg_content_sql(table, "OLD", chained)};
        ELSE
            row_id := NEW.id;
            c := {pg_content_sql(table, "NEW", chained)};
        END IF;
        IF TG_OP = 'UPDATE' AND c = {pg_content_sql(table, "OLD", chained)} THEN
            RETURN NULL;  -- the recorder re-writes unchanged episodes: chain only real changes
        END IF;
        PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
        p := coalesce((SELECT hash FROM audit_chain ORDER BY id DESC LIMIT 1), '');
        t := {_PG_NOW_US};
        INSERT INTO audit_chain (tbl, row_id, op, content, t_us, prev, hash)
            VALUES ('{table}', row_id, op, c, t, p,
                    chairside_chain_hash(p, '{table}', row_id, op, c, t));
        RETURN NULL;
    END
    """  # noqa: S608


def pg_statements(chained: Chained = CHAINED) -> list[str]:
    """The chain on PostgreSQL: the hash function, one trigger function a table, and the
    triggers named as on SQLite (``chained`` as for ``install``)."""
    statements = [PG_HASH_FUNCTION]
    for table in chained:
        statements.append(pg_function_sql(table, chained))
        statements.extend(pg_trigger_sql(table, op) for op in CHANGES)
    return statements


def pg_trigger_sql(table: str, op: str) -> str:
    return (
        f"CREATE TRIGGER {trigger_name(table, op)} AFTER {op.upper()} ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {pg_function_name(table)}()"
    )


def pg_function_sql(table: str, chained: Chained = CHAINED) -> str:
    """The trigger function of ``table``; ``OR REPLACE`` keeps the triggers that call it."""
    return (
        f"CREATE OR REPLACE FUNCTION {pg_function_name(table)}() RETURNS TRIGGER"
        f" LANGUAGE plpgsql AS $body${pg_function_body(table, chained)}$body$"
    )


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: intact, or the first broken link in words an auditor reads."""

    intact: bool
    links: int
    head: str
    problem: str = ""

    def summary(self) -> str:
        if not self.intact:
            return f"record NOT verified: {self.problem}"
        return f"record verified: {self.links} links intact, head {self.head[:16]}"


def verify(conn: sqlite3.Connection) -> Verdict:
    """Recompute the chain, then compare every chained row with its last chained content."""
    if not _has_chain(conn):
        return Verdict(False, 0, "", "this store has no audit chain (written before it existed)")
    latest: dict[tuple[str, int], tuple[str, str]] = {}
    links, head, previous = 0, "", 0
    for link_id, table, row_id, op, content, t_us, prev, stored in _links(conn):
        if prev != head:
            return Verdict(False, links, head, f"link {link_id} does not follow link {previous}")
        if link_hash(prev, table, row_id, op, content, t_us) != stored:
            return Verdict(False, links, head, f"link {link_id} ({table} row {row_id}) altered")
        latest[(table, row_id)] = (op, content)
        links, head, previous = links + 1, stored, link_id
    chained = chained_here(conn)
    problem = _missing_trigger(conn, chained) or _unchained_change(conn, latest, chained)
    if not problem and "rule_sets" in chained:
        problem = rule_sets.altered(conn)
    return Verdict(not problem, links, head, problem)


def chained_here(conn: sqlite3.Connection) -> Chained:
    """What this store's schema chains: one written before rule sets had their own table (a
    backup kept from before that upgrade) is judged as it was chained then."""
    if is_pg(conn):
        (found,) = conn.execute("SELECT to_regclass('rule_sets') IS NOT NULL").fetchone()
    else:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rule_sets'").fetchone()
    return CHAINED if found else CHAINED_WITH_RULES_TEXT


def _links(conn: sqlite3.Connection) -> Iterator[tuple]:
    yield from conn.execute(
        "SELECT id, tbl, row_id, op, content, t_us, prev, hash FROM audit_chain ORDER BY id"
    )


def _has_chain(conn: sqlite3.Connection) -> bool:
    if is_pg(conn):
        return conn.execute("SELECT to_regclass('audit_chain') IS NOT NULL").fetchone()[0]
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_chain'").fetchone()
    return found is not None


def _missing_trigger(conn: sqlite3.Connection, chained: Chained) -> str:
    if is_pg(conn):
        return _missing_pg_trigger(conn, chained)
    present = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    for table in chained:
        for op in CHANGES:
            name = trigger_name(table, op)
            if present.get(name) != trigger_sql(table, op, chained):
                return f"trigger {name} was dropped or altered: changes to {table} went unchained"
    return _missing_guard(present, chained)


def _missing_guard(present: dict, chained: Chained) -> str:
    for name, (table, allows) in GUARDS.items():
        if name not in present and (table in chained or table == "audit_chain"):
            return f"trigger {name} was dropped: {allows}"
    return ""


# Every enabled trigger on PostgreSQL with its table and the source of its function.
PG_TRIGGERS = """
    SELECT t.tgname, c.relname, p.proname, p.prosrc FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'
"""


def _missing_pg_trigger(conn: sqlite3.Connection, chained: Chained) -> str:
    """The same judgement on PostgreSQL: each trigger there, enabled, on its table, calling
    its function, whose source is still what Chairside installed."""
    present = {name: (table, function, source) for name, table, function, source in
               conn.execute(PG_TRIGGERS)}  # fmt: skip
    for table in chained:
        wanted = (table, pg_function_name(table), pg_function_body(table, chained))
        for op in CHANGES:
            name = trigger_name(table, op)
            if present.get(name) != wanted:
                return f"trigger {name} was dropped or altered: changes to {table} went unchained"
    return _missing_guard(present, chained)


def _unchained_change(
    conn: sqlite3.Connection, latest: dict[tuple[str, int], tuple], shape: Chained
) -> str:
    for table in shape:
        seen = set()
        if is_pg(conn):
            content = pg_content_sql(table, table, shape)
        else:
            content = content_sql(table, chained=shape)
        current = f"SELECT id, {content} FROM {table}"  # noqa: S608
        for row_id, content in conn.execute(current):
            seen.add(row_id)
            op, chained = latest.get((table, row_id), ("", None))
            if chained is None or op == "delete":
                return f"{table} row {row_id} is not in the chain (added outside Chairside)"
            if json.loads(chained) != json.loads(content):
                return (
                    f"{table} row {row_id} differs from its chained content "
                    "(changed outside Chairside)"
                )
        for (chained_table, row_id), (op, _) in latest.items():
            if chained_table == table and op != "delete" and row_id not in seen:
                return f"{table} row {row_id} is missing (deleted outside Chairside)"
    return ""


def verify_prefix(backup: sqlite3.Connection, live: sqlite3.Connection) -> str:
    """An older copy's chain must be the start of the live chain; '' when it is."""
    (count,) = backup.execute("SELECT count(*) FROM audit_chain").fetchone()
    if not count:
        return ""
    (theirs,) = backup.execute("SELECT hash FROM audit_chain ORDER BY id DESC LIMIT 1").fetchone()
    ours = live.execute(
        "SELECT hash FROM audit_chain ORDER BY id LIMIT 1 OFFSET ?", (count - 1,)
    ).fetchone()
    if ours is None or ours[0] != theirs:
        return f"the live chain does not continue the backup's {count} links: history rewritten"
    return ""
