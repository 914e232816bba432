"""Shared fixtures: fresh and filled stores, simulated monitors on real pseudo-terminals.

Set CHAIRSIDE_TEST_PORT (and CHAIRSIDE_TEST_PROTOCOL, default ge-s5) to also run the device
tests marked ``hardware`` against a real monitor.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulators.fleet import Fleet, FleetSpec
from vitals.store import StoreWriter, chain, connect_readonly
from vitals.store.location import PostgresServer
from vitals.store.pg import PgConnection

pytest_plugins = ["tests.pg_cluster", "tests.central_sample"]

ROOT = Path(__file__).resolve().parent.parent
SHARED_VECTORS = ROOT.parent / "shared" / "vectors"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chairside.db"


@pytest.fixture
def fresh_store(db_path: Path) -> Iterator[StoreWriter]:
    writer = StoreWriter(db_path)
    yield writer
    writer.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request: pytest.FixtureRequest, db_path: Path) -> Path | PostgresServer:
    """The store of a test that must hold on both engines: a SQLite file, then a fresh
    database on the tests' own PostgreSQL server (tests/pg_cluster.py)."""
    if request.param == "sqlite":
        return db_path
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store_writer(store_db: Path | PostgresServer) -> Iterator[StoreWriter]:
    writer = StoreWriter(store_db)
    yield writer
    writer.close()


@pytest.fixture
def start_fleet(tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Start simulated monitors on ptys under tmp_path; every fleet is stopped afterwards."""
    fleets: list[Fleet] = []

    def start(
        chairs: int = 1, scenario: str = "typical", speed: float = 60, sessions=None, **kw
    ) -> Fleet:
        spec = FleetSpec(chairs, [scenario], speed=speed, run_dir=tmp_path / "run", **kw)
        fleet = Fleet(spec, on_event=sessions.on_event if sessions else None)
        if sessions:
            sessions.open_all(fleet)
        fleet.start()
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        fleet.stop()


def wait_for(condition: Callable[[], object], timeout: float = 15, what: str = "condition"):
    """Poll until ``condition()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def query(db: Path | PostgresServer, sql: str, params: tuple = ()) -> list[tuple]:
    """Read a store as an outside tool would, on either engine (a missing SQLite file is
    sqlite3's own OperationalError, which tests waiting for a store to appear expect)."""
    if isinstance(db, PostgresServer):
        conn = connect_readonly(db)
    else:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def view_columns(db: Path | PostgresServer, relation: str) -> list[str]:
    """The column names of a table or view, as an outside tool sees them."""
    conn = connect_readonly(db)
    try:
        cursor = conn.execute(f"SELECT * FROM {relation} LIMIT 0")
        return [c[0] for c in cursor.description]
    finally:
        conn.close()


def outside_writer(db: Path | PostgresServer) -> sqlite3.Connection:
    """A write connection that is not Chairside's writer: what someone with the database's
    own tools could do (on SQLite with the chain's hash function, as Chairside's connections
    have it, so a refused change is refused by the audit rules, not for lack of it)."""
    if isinstance(db, PostgresServer):
        return PgConnection(db.url)
    conn = sqlite3.connect(db)
    chain.register(conn)
    return conn


def chairside_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chairside", *args]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(autouse=True)
def _no_leaked_log_handlers() -> Iterator[None]:
    """A test that sets up Chairside's logging in-process leaves handlers on the root logger
    bound to that test's captured stderr; a server thread of a later test (the mail server
    saying a client left) then wrote into the closed stream. Each test's handlers go with it."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
