"""A throw-away PostgreSQL server for the tests, started by the tests themselves.

One cluster per test session (Debian's ``initdb``/``pg_ctl``, found under
``/usr/lib/postgresql/*/bin`` or on PATH) listens on a Unix socket in a temporary directory
only, with durability switched off (a test's database is thrown away). Running as root, the
cluster runs as the ``postgres`` account (PostgreSQL refuses root). Every test gets a fresh
database, copied from a template that is migrated once (``CREATE DATABASE … TEMPLATE``: a file
copy, far quicker than migrating again).

Used as a pytest plugin (``pytest_plugins`` in tests/conftest.py). Without the binaries the
PostgreSQL tests skip with that reason; ``make test`` installs Debian's ``postgresql`` first.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from vitals.store.location import PostgresServer
from vitals.store.pg import PgConnection
from vitals.store.pg_migrations import migrate

TEMPLATE = "chairside_template"
OS_USER = "postgres"  # the account the server runs as when the tests run as root
SUPERUSER = "chairside_test"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class Cluster:
    """A running server: where its socket is and how to reach a database on it."""

    bin: Path
    root: Path
    socket_dir: Path
    as_user: list[str]
    counter: itertools.count

    def server_pids(self) -> list[int]:
        """The postmaster and every process it started (backends, WAL writer, checkpointer)."""
        main = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        pids = [main]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == main:
                    pids.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return pids

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{dbname}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def fresh_database(self) -> str:
        """A new database with the current schema, named for this session's test count."""
        name = f"chairside_test_{next(self.counter)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        return name

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *command], check=True, capture_output=True, text=True, timeout=120
        )


def start_cluster(durable: bool = False) -> Cluster:
    """``durable``: fsync and synchronous commits as a production server has them (for the
    benchmarks); the tests' databases are thrown away, so theirs skip the disk flushes."""
    binaries = pg_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="chairside-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", OS_USER, "--"]
        shutil.chown(root, OS_USER)
    data, sockets = root / "data", root / "sockets"
    cluster = Cluster(binaries, root, sockets, as_user, itertools.count(1))
    cluster.run("mkdir", "-m", "0700", str(data), str(sockets))
    cluster.run(
        str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "--no-sync",
        "-E", "UTF8", "--locale", "C",
    )  # fmt: skip
    options = f"-k {sockets} -c listen_addresses='' -c max_connections=200 -c shared_buffers=128MB"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    cluster.run(
        str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
        "-o", options, "-w", "-t", "60", "start",
    )  # fmt: skip
    try:
        with cluster.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        template = PgConnection(cluster.url(TEMPLATE))
        try:
            migrate(template)
        finally:
            template.close()
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    subprocess.run(
        [*cluster.as_user, str(cluster.bin / "pg_ctl"), "-D", str(cluster.root / "data"),
         "-m", "immediate", "-w", "stop"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    stop_cluster(cluster)


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[PostgresServer]:
    """A fresh, migrated database of its own for one test."""
    name = pg_cluster.fresh_database()
    yield PostgresServer(pg_cluster.url(name))
    pg_cluster.drop(name)


@pytest.fixture
def pg_empty(pg_cluster: Cluster) -> Iterator[PostgresServer]:
    """A database with no schema at all, for the migrations' own tests."""
    name = f"chairside_empty_{next(pg_cluster.counter)}"
    with pg_cluster.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PostgresServer(pg_cluster.url(name))
    pg_cluster.drop(name)
