"""Where a store is: a SQLite file (one clinic) or a PostgreSQL server (a group of clinics).

Every ``--db`` goes through ``parse``: a path is a SQLite file, as it always was; a libpq URL
(``postgresql://user@host[:port]/dbname``, also ``postgres://``, with ``?host=/socket/dir``
for a Unix socket) is a PostgreSQL database. A password is never accepted inside the URL: a
command line is seen by every account on the machine (``ps``) and kept in shell histories and
unit files; libpq reads it from ``PGPASSFILE`` (``~/.pgpass``) or ``PGPASSWORD`` instead.
``describe`` is what logs, errors and pages may show: never a secret.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from vitals.errors import ConfigError

SCHEMES = ("postgresql://", "postgres://")
NO_PASSWORD = "put the password in PGPASSFILE or PGPASSWORD, never on the command line"
# libpq keywords a URL may carry that hold secrets or point at them in ways we refuse
SECRET_PARAMS = ("password",)
_DBNAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class SqliteFile:
    """A store in one SQLite file."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PostgresServer:
    """A store in one PostgreSQL database; ``url`` is a libpq URL without a password."""

    url: str

    def __post_init__(self) -> None:
        _check_url(self.url)

    @property
    def dbname(self) -> str:
        return unquote(urlsplit(self.url).path.lstrip("/"))

    def describe(self) -> str:
        """``dbname on user@host:port`` (or the socket directory): no password, ever."""
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        host = query.get("host") or parts.hostname or "localhost"
        port = query.get("port") or (str(parts.port) if parts.port else "")
        user = f"{unquote(parts.username)}@" if parts.username else ""
        where = f"{host}:{port}" if port else host
        return f"PostgreSQL database {self.dbname} on {user}{where}"

    def __str__(self) -> str:
        # The URL carries no password (refused when parsed): it is safe to pass to a child
        # process's command line, which parses it again.
        return self.url


StoreLocation = SqliteFile | PostgresServer


def is_url(text: str) -> bool:
    return text.startswith(SCHEMES)


def parse(text: str | Path) -> StoreLocation:
    """The store a ``--db`` value names; a URL with a password is refused (ConfigError)."""
    if isinstance(text, Path):
        return SqliteFile(text)
    if is_url(text):
        return PostgresServer(text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ConfigError(
            f"--db {scheme}://… is not a store Chairside knows: give a file path (SQLite) or "
            "postgresql://user@host/dbname (PostgreSQL)"
        )
    return SqliteFile(Path(text))


def locate(db: StoreLocation | Path | str) -> StoreLocation:
    """Whatever the store functions were given (a location, a Path, a ``--db`` string)."""
    if isinstance(db, SqliteFile | PostgresServer):
        return db
    return parse(db)


def db_argument(text: str) -> Path | PostgresServer:
    """The ``type`` of every ``--db`` option: a Path for a SQLite file (so file-only commands
    and the code that puts logs and backups beside it keep working), else the server."""
    try:
        where = parse(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return where.path if isinstance(where, SqliteFile) else where


def describe(db: StoreLocation | Path | str) -> str:
    return locate(db).describe()


def is_postgres(db: StoreLocation | Path | str) -> bool:
    return isinstance(locate(db), PostgresServer)


def needs_file(db: StoreLocation | Path | str, what: str) -> Path:
    """The SQLite file of a command that works on files only (a file backup, a copy), or one
    clear line saying why it cannot work on a server."""
    where = locate(db)
    if isinstance(where, PostgresServer):
        raise ConfigError(
            f"{what} works on a SQLite file; {where.describe()} is a PostgreSQL server: "
            "use the server's own tools (pg_dump, its backups) for it"
        )
    return where.path


def _check_url(url: str) -> None:
    if not is_url(url):
        raise ConfigError(f"not a PostgreSQL URL: it must start with {' or '.join(SCHEMES)}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ConfigError(f"cannot read the PostgreSQL URL: {exc}") from None
    query = dict(parse_qsl(parts.query))
    if parts.password is not None or any(k in query for k in SECRET_PARAMS):
        raise ConfigError(f"the database URL holds a password: {NO_PASSWORD}")
    name = unquote(parts.path.lstrip("/"))
    if not name or not _DBNAME.match(name):
        raise ConfigError(
            "the PostgreSQL URL names no database (or a name with odd characters): "
            "postgresql://user@host/dbname"
        )
