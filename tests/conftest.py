"""Shared fixtures: fresh and filled stores, simulated monitors on real pseudo-terminals.

Set CHAIRSIDE_TEST_PORT (and CHAIRSIDE_TEST_PROTOCOL, default ge-s5) to also run the device
tests marked ``hardware`` against a real monitor.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulators.fleet import Fleet, FleetSpec
from vitals.store import StoreWriter

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


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def chairside_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chairside", *args]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}
