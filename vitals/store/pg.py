"""PostgreSQL behind the same small connection API the store uses on ``sqlite3``.

The store's SQL is written once, with SQLite's ``?`` and ``?N`` placeholders, in statements
both engines run. ``PgConnection`` wraps a psycopg 3 connection so the store code cannot tell
the difference where it does not matter:

- ``execute`` / ``executemany`` / ``cursor`` / ``close`` / ``in_transaction``, autocommit with
  explicit ``BEGIN`` / ``COMMIT`` / ``SAVEPOINT`` as the writer issues them (``BEGIN
  IMMEDIATE``, SQLite's "take the write lock now", is a plain ``BEGIN`` here: PostgreSQL
  locks rows, not the file);
- placeholders become psycopg's (``?`` → ``%s``, ``?3`` → ``%(p3)s``), outside string
  literals, quoted names and comments; a literal ``%`` is doubled;
- errors are raised as the ``sqlite3`` exception of the same meaning (a constraint or an
  append-only trigger: ``IntegrityError``; a server that is down, a lock timeout, a full
  disk: ``OperationalError``), so the writer's fault handling (spool, retry) works unchanged;
- ``numeric`` results (``sum`` of integers, ``avg``) come back as int or float, as SQLite
  gives them, not ``Decimal``;
- a connection the server dropped (a restart, a network cut) is opened again at the next
  statement outside a transaction, so the recorder's writer survives a server restart like
  it survives a locked file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Loader
from psycopg.types.numeric import Int8Dumper

DIALECT = "postgresql"
CONNECT_TIMEOUT_S = 10
# A server that vanishes without closing the connection (a cut WAN link) must fail the
# statement in seconds, not hang the writer: TCP keepalives and an unacknowledged-data limit.
TCP_SETTINGS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms
}
# Serialises every writer of the audit chain (the triggers take it too): one head at a time.
CHAIN_LOCK = 7_310_001
# Fewer rows than this go one statement each (psycopg prepares a statement it sees often):
# measured on a Unix socket, a pipeline costs more than it saves for a chair's few readings.
PIPELINE_FROM = 32


class NumericLoader(Loader):
    """``numeric`` as SQLite would give it: an int when whole and written without a point."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if any(c in text for c in ".eEN") else int(text)


_ERRORS: tuple[tuple[type[Exception], type[Exception]], ...] = (
    (psycopg.errors.IntegrityError, sqlite3.IntegrityError),
    (psycopg.errors.RaiseException, sqlite3.IntegrityError),  # our append-only triggers
    (psycopg.errors.DataError, sqlite3.DataError),
    (psycopg.errors.NotSupportedError, sqlite3.NotSupportedError),
    (psycopg.errors.InterfaceError, sqlite3.InterfaceError),
    (psycopg.errors.ProgrammingError, sqlite3.OperationalError),  # no such table, syntax
    (psycopg.errors.Error, sqlite3.OperationalError),  # server gone, lock timeout, disk full
)


def as_sqlite_error(exc: psycopg.Error) -> sqlite3.Error:
    """The sqlite3 exception the store code already handles, carrying the server's words."""
    ours = next(ours for theirs, ours in _ERRORS if isinstance(exc, theirs))
    message = (exc.diag.message_primary if exc.diag else None) or str(exc) or type(exc).__name__
    error = ours(message.strip())
    error.sqlstate = exc.sqlstate  # type: ignore[attr-defined]
    return error


@functools.lru_cache(maxsize=1024)
def translate(statement: str, with_params: bool) -> tuple[str, bool]:
    """psycopg's form of a statement written for sqlite3; True when it uses ``?N`` names."""
    if statement.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN", False
    if not with_params:
        return statement, False
    out: list[str] = []
    numbered = False
    i, n = 0, len(statement)
    while i < n:
        c = statement[i]
        if c in "'\"":  # a literal or a quoted name, with doubled quotes inside
            end = i + 1
            while end < n:
                if statement[end] == c:
                    if end + 1 < n and statement[end + 1] == c:
                        end += 2
                        continue
                    break
                end += 1
            out.append(statement[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif c == "-" and statement.startswith("--", i):
            end = statement.find("\n", i)
            end = n if end < 0 else end
            out.append(statement[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            digits = re.match(r"\d*", statement[i + 1 :]).group()
            if digits:
                numbered = True
                out.append(f"%(p{digits})s")
            else:
                out.append("%s")
            i += 1 + len(digits)
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out), numbered


def _bind(params: Sequence[Any] | None, numbered: bool) -> Sequence[Any] | dict[str, Any] | None:
    if params is None:
        return None
    if numbered:
        return {f"p{k}": v for k, v in enumerate(params, start=1)}
    return tuple(params)


class PgCursor:
    """A psycopg cursor seen as a sqlite3 cursor."""

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._cursor = cursor
        self._rowcount: int | None = None

    def execute(self, statement: str, params: Sequence[Any] = ()) -> PgCursor:
        query, numbered = translate(statement, bool(params))
        self._rowcount = None
        try:
            self._cursor.execute(query, _bind(params, numbered) if params else None)
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        return self

    def executemany(self, statement: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        rows = list(seq)
        if not rows:
            return self
        query, numbered = translate(statement, True)
        try:
            if len(rows) <= PIPELINE_FROM:
                total = 0
                for row in rows:
                    self._cursor.execute(query, _bind(row, numbered))
                    total += max(self._cursor.rowcount, 0)
                self._rowcount = total  # every row's, as sqlite3 and psycopg's executemany say
            else:
                self._cursor.executemany(query, [_bind(r, numbered) for r in rows])
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        return self

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list[tuple]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._cursor) if self._cursor.description else iter(())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._rowcount is None else self._rowcount

    @property
    def description(self) -> list[tuple] | None:
        described = self._cursor.description
        if described is None:
            return None
        return [(c.name, None, None, None, None, None, None) for c in described]

    def close(self) -> None:
        self._cursor.close()


class PgConnection:
    """One PostgreSQL session with the sqlite3 connection API the store code uses."""

    dialect = DIALECT

    def __init__(self, url: str, readonly: bool = False, lock_timeout_s: float = 10.0) -> None:
        self.url = url
        self.readonly = readonly
        self.lock_timeout_s = lock_timeout_s
        self._conn = self._open()

    def _open(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="chairside-reader" if self.readonly else "chairside",
                **TCP_SETTINGS,
            )
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        conn.adapters.register_loader("numeric", NumericLoader)
        # every Python int is a BIGINT, as every SQLite integer is 64-bit: a small int as
        # int2 would make ``generate_series(?, ?)`` or ``CASE WHEN ? > col`` ambiguous
        conn.adapters.register_dumper(int, Int8Dumper)
        settings = [
            "SET TIME ZONE 'UTC'",
            f"SET lock_timeout = {int(self.lock_timeout_s * 1000)}",
        ]
        if self.readonly:
            settings.append("SET default_transaction_read_only = on")
        for setting in settings:
            conn.execute(setting)
        return conn

    _closed_by_us = False
    _explicit = False  # inside a BEGIN ... COMMIT the store code issued

    @property
    def _lost(self) -> bool:
        return (self._conn.closed or self._conn.broken) and not self._closed_by_us

    def _live(self, statement: str = "") -> psycopg.Connection:
        """The session; opened again when the server dropped it, unless that happened inside
        a transaction: then the statements after the loss must not run on their own."""
        if self._lost:
            if self._explicit and not _ends_transaction(statement):
                raise sqlite3.OperationalError(
                    "the connection to the database server was lost during a transaction;"
                    " nothing of it was committed"
                )
            self._explicit = False
            self._conn = self._open()
        return self._conn

    def cursor(self) -> PgCursor:
        try:
            return PgCursor(self._live().cursor())
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc

    def execute(self, statement: str, params: Sequence[Any] = ()) -> PgCursor:
        lost_before = self._lost
        try:
            cursor = PgCursor(self._live(statement).cursor())
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        ends = _ends_transaction(statement)
        if ends and lost_before:  # the server ended it with the connection: nothing to undo
            return cursor
        try:
            cursor.execute(statement, params)
        finally:
            if ends:
                self._explicit = False
        if _begins_transaction(statement):
            self._explicit = True
        return cursor

    def executemany(self, statement: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        return self.cursor().executemany(statement, seq)

    @property
    def in_transaction(self) -> bool:
        if self._conn.closed or self._conn.broken:
            return False
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self._closed_by_us = True
        self._conn.close()

    def hang_up(self) -> None:
        """From another thread: end the session under a statement that waits on a server that
        accepts but does not answer (stopped, swamped); TCP keepalives cannot see that, as the
        server's kernel still acknowledges. The waiting statement fails as a lost connection."""
        with contextlib.suppress(OSError, psycopg.Error):
            stuck = socket.socket(fileno=os.dup(self._conn.pgconn.socket))
            try:
                stuck.shutdown(socket.SHUT_RDWR)  # acts on the shared socket, unlike close
            finally:
                stuck.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_words(statement: str) -> list[str]:
    return statement.split(None, 2)[:2]


def _begins_transaction(statement: str) -> bool:
    words = _first_words(statement)
    return bool(words) and words[0].upper() in ("BEGIN", "START")


def _ends_transaction(statement: str) -> bool:
    """COMMIT, END or a whole ROLLBACK (not ``ROLLBACK TO`` a savepoint)."""
    words = [w.upper() for w in _first_words(statement)]
    if not words:
        return False
    if words[0] == "ROLLBACK":
        return len(words) < 2 or words[1] != "TO"
    return words[0] in ("COMMIT", "END")


def dialect(conn: object) -> str:
    """``postgresql`` for a PgConnection, ``sqlite`` for a sqlite3 connection: for the few
    statements that have no form both engines run."""
    return getattr(conn, "dialect", "sqlite")


def is_pg(conn: object) -> bool:
    return dialect(conn) == DIALECT
