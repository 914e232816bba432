"""Rule sets, each stored once: a session names the rules in force by their SHA-256.

A protocol's rule set, with its cited sources and rationale, is 4-5 KB of JSON, and a clinic
uses a handful of them. Each session used to hold its own copy, and the audit chain repeated
that copy with every change to the session (its dose time, its end): most of the chain's
bytes. ``rule_sets`` is content-addressed: its key is the SHA-256 of the JSON text, so the
same rules are one row however many sessions (and, on a central store, however many sites)
use them, and a threshold a nurse changes mid-session is a new rule set that the session is
then pointed at, never an edit of the old one.

Rule sets are part of the human record: chained when first stored (a rule set's link comes
before the first session link that names it, so the central store can rebuild sessions from
links alone), append-only (triggers refuse UPDATE and DELETE on both engines), and ``verify``
checks that each one's text still has its digest.
"""

from __future__ import annotations

import hashlib
import sqlite3

from vitals.rules import RuleSet
from vitals.store.sql import rules_json

# Refuse a change of a stored rule set (migrations m015, pg004); ``verify`` names a dropped one.
APPEND_ONLY = ("rule_sets_append_only_u", "rule_sets_append_only_d")
REFUSAL = "rule sets are part of the record"
STORE = "INSERT INTO rule_sets (sha256, rules_json) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING"
# A session's rules as JSON text, inside a statement that reads ``sessions``.
SESSION_RULES = "(SELECT rules_json FROM rule_sets WHERE sha256 = sessions.rules_sha256)"


def digest(text: str) -> str:
    """The key of a rule set: SHA-256 of its JSON text (UTF-8), in lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_rules(conn: sqlite3.Connection, rules: RuleSet) -> str:
    """Keep ``rules`` (once: a rule set already stored is not stored again); its digest."""
    return store_text(conn, rules_json(rules))


def store_text(conn: sqlite3.Connection, text: str) -> str:
    """Keep a rule set's JSON text exactly as given (its digest is over these bytes)."""
    sha256 = digest(text)
    conn.execute(STORE, (sha256, text))
    return sha256


def move_out_of_sessions(conn: sqlite3.Connection) -> None:
    """The migrations' first step (m015, pg004): every text ``sessions.rules_json`` holds,
    stored once in the order sessions first used it, and a new ``rules_sha256`` naming it
    filled in. The caller has added the column and keeps the triggers quiet meanwhile."""
    texts = conn.execute(
        "SELECT rules_json FROM sessions GROUP BY rules_json ORDER BY min(id)"
    ).fetchall()
    for (text,) in texts:
        store_text(conn, text)
    conn.execute(
        "UPDATE sessions SET rules_sha256 ="
        " (SELECT sha256 FROM rule_sets r WHERE r.rules_json = sessions.rules_json)"
    )


def altered(conn: sqlite3.Connection) -> str:
    """The first rule set whose text no longer has its digest ('' when none): an edit made
    around Chairside, which a content-addressed record must never hold."""
    for row_id, sha256, text in conn.execute(
        "SELECT id, sha256, rules_json FROM rule_sets ORDER BY id"
    ):
        if digest(text) != sha256:
            return f"rule set {row_id} does not match its digest (its rules were edited)"
    return ""
