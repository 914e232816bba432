"""The central review on a group of clinics: the same pages on PostgreSQL and on SQLite.

One store holds ``--sites`` sites, each of ``--chairs`` chairs (ids ``site-NN/chair-N``, as a
central store names them) and ``--hours`` clinic hours a day, Monday to Friday, written by the
project's own generator (``simulators.clinic_history``: the patient model at 1 Hz, sessions,
events, acknowledged alerts from the live engine; each chair's last session still open). It
is built into SQLite through the store's functions, then copied into a throw-away
PostgreSQL server (``tests/pg_cluster.py``) table by table with COPY: the readings in bulk,
the human record through its triggers (audit chain, summary counts) as the server keeps it.
For each size, and on each engine, it prints the median server time of what the central
station reads (``bench.growth.pages``: the session list, first page and a filtered one; one
session's review; one patient's course; a chair's detail; the overview of every chair; the
what-if), then the year, extrapolated from the curve of the built sizes as bench/growth.py
does; PostgreSQL's overview, whose latest-reading probes visit every monthly partition, is
timed again on the largest store given a year's partitions. First, unless
``--ingest-minutes 0``, the ingest of 500 chairs into PostgreSQL (``bench.pg_ingest``:
readings/s, the writer's and the server's CPU, against SQLite).

    python -m bench.central [--ingest-minutes 2] [--sites 50] [--days 1,3] [--chairs 4]
                            [--hours 3] [--year-days 252]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from bench._common import table
from bench.dashboard import overview_data, timed
from bench.growth import FIGURES, extrapolated, pages
from bench.pg_ingest import run as ingest
from simulators.clinic_history import HistorySpec, build_history
from tests.pg_cluster import Cluster, start_cluster, stop_cluster
from vitals.reading import utc_now
from vitals.store.location import PostgresServer
from vitals.store.pg import PgConnection
from vitals.store.pg_migrations import ensure_partitions

TIMES = tuple(name for name in FIGURES if name.endswith(" ms"))  # what pages() times
NAMES = ("file MB", "B/reading", *TIMES)
# What a site's store holds that the central store keeps as well, readings first (their
# summary trigger then finds no session to count for); the lookup tables' keys are kept.
BULK = ("chair_keys", "sources", "readings")
RECORD = ("chairs", "sessions", "events", "episodes", "acknowledgments", "device_state")
IDENTITIES = {"chair_keys": "key", "sources": "key", "sessions": "id", "events": "id",
              "episodes": "id", "acknowledgments": "id"}  # fmt: skip


def build(db: Path, sites: int, days: int, chairs: int, hours: float) -> int:
    """Every site's history into one SQLite store; returns its number of readings."""
    end = utc_now().replace(microsecond=0)
    began, readings, sessions = time.perf_counter(), 0, 0
    for n in range(sites):
        spec = HistorySpec(days, chairs, hours, seed=n + 1, site=f"site-{n:02d}", end=end)
        counts = build_history(db, spec)
        readings, sessions = readings + counts.readings, sessions + counts.sessions
    print(
        f"built {sites} sites x {chairs} chairs x {days} day(s) of {hours:g} h: {readings:,}"
        f" readings, {sessions} sessions in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    return readings


def copy_to_server(source: Path, target: PostgresServer) -> None:
    """The SQLite store's rows into an empty migrated PostgreSQL database."""
    began = time.perf_counter()
    lite = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    first_us = lite.execute("SELECT min(started_us) FROM sessions").fetchone()[0]
    months = max(0, round((utc_now().timestamp() - first_us / 1e6) / (30 * 86400))) + 1
    store = PgConnection(target.url)
    ensure_partitions(store, months_before=months)
    store.close()
    with psycopg.connect(target.url, autocommit=True) as server:
        # a bulk load, as pg_restore does it: the readings' per-row summary trigger is off
        server.execute("SET session_replication_role = replica")
        for name in BULK:
            _copy_table(lite, server, name)
        server.execute("SET session_replication_role = origin")
        for name in RECORD:
            _copy_table(lite, server, name)
        for name, column in IDENTITIES.items():
            server.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'),"  # noqa: S608
                f" (SELECT max({column}) FROM {name}))"
            )
        server.execute("ANALYZE")
    lite.close()
    print(f"copied into PostgreSQL in {time.perf_counter() - began:.0f} s", flush=True)


def _copy_table(lite: sqlite3.Connection, server: psycopg.Connection, table: str) -> None:
    found = server.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
    )
    theirs = {name for (name,) in found}
    columns = [c for _, c, *_ in lite.execute(f"PRAGMA table_info({table})") if c in theirs]
    names = ", ".join(f'"{c}"' for c in columns)
    with server.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in lite.execute(f"SELECT {names} FROM {table}"):  # noqa: S608
            copy.write_row(row)


def overview_with_a_year_of_partitions(server: PostgresServer) -> float:
    """The overview's latest reading of every chair probes each month's partition: give the
    largest store the partitions a year of history has, and time the overview again."""
    conn = PgConnection(server.url)
    try:
        ensure_partitions(conn, months_before=12)
        (parts,) = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass"
        ).fetchone()
    finally:
        conn.close()
    ms = timed(lambda: overview_data(server), runs=15)
    print(f"PostgreSQL overview with a year's {parts} partitions: {ms:.0f} ms", flush=True)
    return ms


def server_mb(target: PostgresServer) -> float:
    with psycopg.connect(target.url) as server:
        return server.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def measure(db: Path | PostgresServer, readings: int, size_mb: float) -> dict[str, float]:
    figures = pages(db, chair="site-00/chair-1", other="site-01/chair-3")
    return {"file MB": size_mb, "B/reading": size_mb * 1e6 / readings} | figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--days", default="1,3", help="clinic days of the stores built")
    parser.add_argument("--year-days", type=int, default=252)
    parser.add_argument("--chairs", type=int, default=4, help="chairs a site")
    parser.add_argument("--hours", type=float, default=3, help="clinic hours a day")
    parser.add_argument("--ingest-minutes", type=float, default=2, help="0: no ingest")
    args = parser.parse_args()
    if args.ingest_minutes > 0:
        ingest(chairs=500, minutes=args.ingest_minutes)
    sizes = [int(d) for d in args.days.split(",")]
    rows: dict[str, dict[str, float]] = {}
    built: dict[str, dict[str, tuple[int, dict]]] = {"SQLite": {}, "PostgreSQL": {}}
    cluster: Cluster = start_cluster(durable=True)  # a server as production runs it
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for days in sizes:
                db = Path(scratch) / f"central-{days}.db"
                readings = build(db, args.sites, days, args.chairs, args.hours)
                server = PostgresServer(cluster.url(cluster.fresh_database()))
                copy_to_server(db, server)
                for engine, where, mb in (
                    ("SQLite", db, db.stat().st_size / 1e6),
                    ("PostgreSQL", server, server_mb(server)),
                ):
                    figures = measure(where, readings, mb)
                    rows[f"{engine}, {args.sites} sites x {days} d"] = figures
                    built[engine][str(days)] = (days, figures)
                    print(table({f"{engine}, {days} d": figures}, NAMES, "store"), flush=True)
                db.unlink()
            yearly = overview_with_a_year_of_partitions(server)
    finally:
        stop_cluster(cluster)
    if len(sizes) > 1:
        for engine, found in built.items():
            year = extrapolated(found, args.year_days, TIMES)
            if engine == "PostgreSQL":  # what grows with the months is their partitions
                year["overview ms"] = yearly
            rows[f"{engine}, {args.sites} sites x a year (extrapolated)"] = year
    print(table(rows, NAMES, "store"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
