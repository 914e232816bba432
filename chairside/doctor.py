"""``chairside doctor``: what a clinic gets wrong, checked in one go, one line per check.

Each line says OK, WARN or FAIL, what was found and, when something is wrong, what to do;
the exit status is 1 when any check failed. Doctor reads the store read-only and never
opens a port the recorder is using (see ``doctor_ports``), so it is safe to run at any time,
also while chairs are monitored.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chairside import __version__, doctor_host, doctor_ports
from chairside.relay_words import PERMANENT
from devices.registry import new_adapter
from vitals.chairs import Chair, load_chairs
from vitals.errors import ChairsideError
from vitals.lazy import lazy
from vitals.store import connect_readonly, queries
from vitals.store.backup import backups
from vitals.store.location import PostgresServer, describe
from vitals.store.migrations import MIGRATIONS, applied
from vitals.store.pg_migrations import PG_MIGRATIONS
from vitals.store.relay import relay_status
from vitals.times import from_us, to_us
from vitals.users import load_users

pd = lazy("pandas")

FAIL, WARN, OK = "FAIL", "WARN", "OK"
BEAT_FRESH_S = 5.0  # the recorder beats every second
BACKUP_STALE = timedelta(hours=36)


@dataclass(frozen=True)
class Finding:
    status: str
    subject: str
    found: str
    todo: str = ""

    def line(self) -> str:
        todo = f" — {self.todo}" if self.todo and self.status != OK else ""
        return f"{self.status:<5} {self.subject}: {self.found}{todo}"


@dataclass(frozen=True)
class Setup:
    """What to check: the paths and address the recorder and dashboard were given."""

    db: Path | PostgresServer
    users: Path
    log_dir: Path
    backup_dir: Path
    config: Path | None = None
    address: str = "127.0.0.1"
    port: int = 8501
    account: str | None = None  # the service's account, when installed as a service


def examine(setup: Setup, now: datetime | None = None) -> list[Finding]:
    """Every check, in the order an IT person fixes things."""
    now = now or datetime.now(UTC)
    found = [
        Finding(
            OK,
            "chairside",
            f"{__version__} on Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}",
        )
    ]
    if isinstance(setup.db, PostgresServer):
        scope = Finding(
            OK,
            "checks",
            "the central server only; for a site that records with --db postgresql://… "
            "--site NAME, add --site NAME (and its --buffer PATH, if it has one)",
        )
        return [*found, scope, *_server(setup.db), *_users(setup), *_host(setup)]
    conn, problem = _open(setup.db)
    try:
        recorder = _recorder(conn, now, setup)
        found += _store(conn, setup, problem)
        found += _chairs_and_ports(conn, setup, running=recorder.status == OK)
        found.append(recorder)
        found += _relay_lag(conn, now)
    finally:
        if conn is not None:
            conn.close()
    found += _users(setup)
    found += _host(setup)
    return found


def _server(db: PostgresServer) -> Iterator[Finding]:
    """A central PostgreSQL store: does it answer, and is its schema this Chairside's? (Its
    disk and its backups are the server's, kept by the clinic group's IT.)"""
    try:
        conn = connect_readonly(db)
    except ChairsideError as exc:
        yield Finding(
            FAIL,
            "database",
            str(exc),
            "check the server's address and that this account may connect (PGPASSFILE)",
        )
        return
    try:
        done = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY applied_utc")]
    except sqlite3.Error:
        done = []
    finally:
        conn.close()
    yield Finding(OK, "database", f"{db.describe()} answers")
    known = [m.__name__ for m in PG_MIGRATIONS]
    if [name for name in done if name not in known]:
        yield Finding(FAIL, "schema", "written by a newer Chairside", "install that version again")
    elif done == known:
        yield Finding(OK, "schema", f"up to date ({known[-1]})")
    else:
        yield Finding(
            WARN,
            "schema",
            f"{len(known) - len(done)} migration(s) to apply",
            "the first Chairside that writes to it applies them; nothing to do",
        )


def _open(db: Path) -> tuple[sqlite3.Connection | None, str]:
    """A read-only connection to a store that answers, or None and why not."""
    try:
        conn = connect_readonly(db)
    except ChairsideError:
        return None, "does not exist" if not db.exists() else "cannot be opened"
    try:
        applied(conn)
    except sqlite3.Error as exc:
        conn.close()
        return None, f"is not a readable Chairside database ({exc})"
    return conn, ""


def _store(conn: sqlite3.Connection | None, setup: Setup, problem: str) -> Iterator[Finding]:
    db = setup.db
    if conn is None:
        todo = "start the recorder once (it creates the database), or correct --db"
        if db.exists():
            todo = "restore the newest backup (README: Backups and upgrades), or correct --db"
        yield Finding(FAIL, "database", f"{db} {problem}", todo)
        return
    yield _writable(db, setup.account)
    yield _schema(conn)
    yield _as("disk", doctor_host.disk(db.parent, _store_size(db)))
    yield _backups(setup, db)


def _writable(db: Path, account: str | None) -> Finding:
    folder_ok = os.access(db.parent, os.W_OK)
    if not (os.access(db, os.W_OK) and folder_ok):
        return Finding(
            FAIL,
            "database",
            f"{db} cannot be written by this account",
            f"the account that runs the recorder must own {db.parent} and the database in it",
        )
    owner = _foreign_owner(db, account)
    if owner:
        return Finding(
            FAIL,
            "database",
            f"{db} belongs to {owner}, but the service runs as {account}",
            f"`sudo chown -R {account} {db.parent}`",
        )
    return Finding(OK, "database", f"{db} is writable")


def _schema(conn: sqlite3.Connection) -> Finding:
    known = [m.__name__ for m in MIGRATIONS]
    done = applied(conn)
    unknown = [name for name in done if name not in known]
    if unknown:
        return Finding(
            FAIL,
            "schema",
            f"written by a newer Chairside ({unknown[-1]})",
            "install that version (or newer) again; this one cannot use the store",
        )
    if done == known:
        return Finding(OK, "schema", f"up to date ({known[-1]})")
    return Finding(
        WARN,
        "schema",
        f"older ({done[-1] if done else 'empty'}), {len(known) - len(done)} migration(s) to apply",
        "the recorder backs the store up and migrates it when it starts; nothing to do",
    )


def _store_size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def _backups(setup: Setup, db: Path) -> Finding:
    kept = backups(setup.backup_dir, db)
    if not kept:
        return Finding(
            WARN,
            "backups",
            f"none in {setup.backup_dir}",
            "enable the nightly timer (`sudo systemctl enable --now chairside-backup.timer`) "
            f"or run `chairside backup --db {db} --out {setup.backup_dir}`",
        )
    newest = kept[-1]
    taken = datetime.fromtimestamp(newest.stat().st_mtime, UTC)
    found = f"{len(kept)} in {setup.backup_dir}, newest {_local(taken)}"
    if datetime.now(UTC) - taken > BACKUP_STALE:
        return Finding(
            WARN,
            "backups",
            found + ": older than a day",
            "check the timer: `systemctl status chairside-backup.timer`",
        )
    return Finding(OK, "backups", found)


def _older_schema() -> tuple[type[Exception], ...]:
    """What a query for today's schema raises on a store of an older one (read-only: not
    migrated). Asked only when a query failed: pandas is imported only when used."""
    return (sqlite3.OperationalError, pd.errors.DatabaseError)


def _chairs_and_ports(
    conn: sqlite3.Connection | None, setup: Setup, running: bool
) -> Iterator[Finding]:
    chairs = _chairs(conn, setup)
    if isinstance(chairs, Finding):
        yield chairs
        return
    if setup.config is None:
        yield Finding(
            OK,
            "chair config",
            "not given (--config): checking the ports the recorder last used, from the database",
        )
    states = _device_states(conn) if running and conn is not None else {}
    for chair in chairs:
        for device in chair.devices:
            key = device.label if len(chair.devices) > 1 else ""
            subject = f"port {chair.id}" + (f"/{key}" if key else "") + f" {device.port}"
            state = states.get((chair.id, key))
            verdict = (
                doctor_ports.judge_stored_state(state) if state else doctor_ports.probe(device)
            )
            yield _as(subject, verdict)


def _chairs(conn: sqlite3.Connection | None, setup: Setup) -> list[Chair] | Finding:
    """The configured chairs; without a config, the ports the recorder last recorded."""
    if setup.config is not None:
        try:
            return checked_chairs(setup.config)
        except ChairsideError as exc:
            return Finding(
                FAIL, "chair config", str(exc), "correct the file, then restart the recorder"
            )
    if conn is None:
        return Finding(
            WARN,
            "chair config",
            "not given (--config), and no database to read the recorder's chairs from",
        )
    try:
        frame = queries.chairs(conn)
    except _older_schema():
        return Finding(WARN, "chair config", "not given (--config); the database's schema is older")
    return [
        Chair(row.chair, row.name, port, protocol)
        for row in frame.itertuples()
        for port, protocol in zip(row.port.split(", "), row.protocol.split(", "), strict=False)
    ]


def checked_chairs(config: Path) -> list[Chair]:
    """The chair config as the recorder would take it: every protocol and option checked."""
    chairs = load_chairs(config)
    for chair in chairs:
        for device in chair.devices:
            new_adapter(device.protocol, device.options)
    return chairs


def _device_states(conn: sqlite3.Connection) -> dict[tuple[str, str], dict]:
    try:
        frame = queries.device_states(conn)
    except _older_schema():  # nothing to say until the recorder has migrated it
        return {}
    return {(r["chair"], r["device"]): r for r in frame.to_dict("records")}


def _recorder(conn: sqlite3.Connection | None, now: datetime, setup: Setup) -> Finding:
    if conn is None:
        return Finding(WARN, "recorder", "cannot tell without a readable database")
    try:
        beat = queries.heartbeat(conn)
    except _older_schema():  # the recorder migrates it at start
        return Finding(WARN, "recorder", "cannot tell: the database has an older schema")
    if beat is None:
        return Finding(
            FAIL,
            "recorder",
            "has never run on this database",
            "start it: `sudo systemctl start chairside-recorder`",
        )
    age = (now - beat["beat"].to_pydatetime()).total_seconds()
    if beat["stopped"] is None and age < BEAT_FRESH_S:
        since = _local(beat["started"].to_pydatetime())
        return Finding(
            OK, "recorder", f"running (pid {beat['pid']}, since {since}), heartbeat {age:.1f} s ago"
        )
    last = _local(beat["beat"].to_pydatetime())
    how = (
        "it stopped cleanly"
        if beat["stopped"] is not None
        else ("without a clean stop (crash, power cut or kill)")
    )
    return Finding(
        FAIL,
        "recorder",
        f"not running: last heartbeat {last}, {how}",
        "start it: `sudo systemctl start chairside-recorder`; why it stopped: "
        f"`journalctl -u chairside-recorder` or {setup.log_dir / 'recorder.log'}",
    )


def _relay_lag(conn: sqlite3.Connection | None, now: datetime) -> Iterator[Finding]:
    """Only for a site that forwards: how far the central store is behind, and why."""
    status = relay_status(conn) if conn is not None else None
    if status is None:
        return
    behind, line = status.describe(to_us(now), lambda us: _local(from_us(us)))
    said = line.removeprefix("Central review").lstrip(": —")
    where = f"{said} (site {status.site} to {describe(status.target)})"
    if not behind:
        yield Finding(OK, "central review", where)
        return
    fix = (
        "correct what is named above (retrying will not cure it)"
        if status.last_error in PERMANENT
        else "check the network and the server"
    )
    yield Finding(
        WARN,
        "central review",
        f"{where}; {status.failures} failed tries so far",
        "readings wait safely in this site's store and are sent once the central store "
        f"answers; {fix} (recorder log: chairside.relay)",
    )


def _users(setup: Setup) -> Iterator[Finding]:
    path = setup.users
    try:
        names = load_users(path)
    except ChairsideError as exc:
        yield Finding(FAIL, "users", str(exc))
        return
    if not names:
        yield Finding(
            FAIL,
            "users",
            f"{path} lists nobody: no nurse can sign in",
            f'`chairside user add "NAME" --users {path}`',
        )
        return
    yield Finding(OK, "users", f"{len(names)} nurse(s) may sign in ({path})")
    if os.name == "nt":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        yield Finding(
            WARN,
            "users",
            f"{path} is readable by other accounts (mode {mode:o})",
            f"`chmod 600 {path}`",
        )
    owner = _foreign_owner(path, setup.account)
    if owner:
        yield Finding(
            FAIL,
            "users",
            f"{path} belongs to {owner}; the dashboard runs as {setup.account} and cannot read it",
            f"`sudo chown {setup.account} {path}`",
        )


def _host(setup: Setup) -> Iterator[Finding]:
    yield _as("time zone", doctor_host.time_zone())
    sync = doctor_host.clock_sync()
    if sync is not None:
        yield _as("clock", sync)
    yield _as("dashboard", doctor_host.dashboard(setup.address, setup.port))
    yield Finding(
        OK,
        "logs",
        f"in {setup.log_dir}" + ("" if setup.log_dir.is_dir() else " (none written yet)"),
    )


def _foreign_owner(path: Path, account: str | None) -> str | None:
    """The owner's name when it is not ``account`` (POSIX, an installed service only)."""
    if account is None or os.name == "nt":
        return None
    import pwd  # POSIX only

    try:
        owner = pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return None
    return owner if owner != account else None


def _as(subject: str, verdict: doctor_host.HostVerdict | doctor_ports.PortVerdict) -> Finding:
    return Finding(verdict.status, subject, verdict.found, verdict.todo)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
