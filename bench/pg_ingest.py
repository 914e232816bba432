"""Ingest into the central store: many chairs' readings through one StoreWriter, into
PostgreSQL (a server of our own, durable as in production) and, for comparison, SQLite.

Each simulated chair sends a monitor record every 5 s (HR, SpO2, pulse) and an NIBP
measurement (SBP, DBP, MAP) every 5 min, so 500 chairs need about 310 readings/s in real
time. The chairs' records are handed to the writer as fast as it takes them, by feeder threads,
one chair's record at a time (as a recorder's workers do: the writer commits what waits in
one group), and then as a site's forwarder would, in batches of ``--batch`` readings. We
report readings/s, the margin over real time, the writer process's CPU, and the server's CPU
(every PostgreSQL process, from /proc) per 1000 readings.

    python -m bench.pg_ingest [--chairs 500] [--minutes 10] [--feeders 8] [--batch 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.pg_cluster import Cluster, start_cluster, stop_cluster
from vitals.reading import Param, Reading
from vitals.store import StoreWriter
from vitals.store.location import PostgresServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RECORD_S = 5  # a monitor record every 5 s
NIBP_S = 300  # an NIBP measurement every 5 min
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def records(chairs: int, minutes: float) -> list[list[Reading]]:
    """Every chair's records over ``minutes`` of monitor time, in time order."""
    out = []
    for tick in range(int(minutes * 60 / RECORD_S)):
        at = START + timedelta(seconds=tick * RECORD_S)
        for c in range(chairs):
            chair = f"site-{c // 32:02d}/c{c % 32:02d}"
            group = [Reading(Param.HR, 70.0 + c % 9), Reading(Param.SPO2, 97.0),
                     Reading(Param.PULSE, 71.0)]  # fmt: skip
            if (tick * RECORD_S + c) % NIBP_S < RECORD_S:
                group += [Reading(Param.SBP, 128.0), Reading(Param.DBP, 81.0),
                          Reading(Param.MAP, 97.0)]  # fmt: skip
            out.append([r.stamped(chair, at + timedelta(milliseconds=c), "ge-s5") for r in group])
    return out


def ingest(writer: StoreWriter, work: list[list[Reading]], feeders: int) -> float:
    """Hand ``work`` to the writer from ``feeders`` threads; seconds until all is committed."""

    def feed(part: list[list[Reading]]) -> None:
        for group in part:
            writer.post_readings(group)

    threads = [threading.Thread(target=feed, args=(work[i::feeders],)) for i in range(feeders)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - began


def measure(name: str, db: object, work: list[list[Reading]], feeders: int,
            server: Callable[[], list[int]] | None) -> dict:  # fmt: skip
    """Ingest ``work`` into ``db``; prints one line and returns its figures."""
    writer = StoreWriter(db)
    try:
        readings = sum(len(g) for g in work)
        server_cpu0 = cpu_seconds(server()) if server else 0.0
        own0 = time.process_time()
        seconds = ingest(writer, work, feeders)
        own = time.process_time() - own0
        server_cpu = cpu_seconds(server()) - server_cpu0 if server else None
    finally:
        writer.close()
    chairs = len({r.chair for g in work for r in g})
    span_s = (work[-1][-1].time - work[0][0].time).total_seconds() + RECORD_S
    figures = {
        "store": name,
        "chairs": chairs,
        "readings": readings,
        "seconds": seconds,
        "readings_per_s": readings / seconds,
        "times_real_time": readings / seconds / (readings / span_s),
        "writer_cpu_pct": 100 * own / seconds,
        "server_cpu_pct": None if server_cpu is None else 100 * server_cpu / seconds,
        "server_ms_per_1000": None if server_cpu is None else 1e6 * server_cpu / readings,
    }
    line = (
        f"{name}: {readings} readings of {chairs} chairs in {seconds:.1f} s = "
        f"{figures['readings_per_s']:,.0f} readings/s ({figures['times_real_time']:.0f}x real "
        f"time); writer process CPU {figures['writer_cpu_pct']:.0f} % of a core"
    )
    if server_cpu is not None:
        line += (
            f"; server CPU {figures['server_cpu_pct']:.0f} % of a core, "
            f"{figures['server_ms_per_1000']:.0f} ms per 1000 readings"
        )
    print(line, flush=True)
    return figures


def run(chairs: int = 500, minutes: float = 10, feeders: int = 8, batch: int = 2000) -> list[dict]:
    """Every measurement (PostgreSQL and SQLite, a record at a time and in batches) on a
    server started for it and stopped after; importable by other benchmarks."""
    work = records(chairs, minutes)
    flat = [r for group in work for r in group]
    batches = [flat[i : i + batch] for i in range(0, len(flat), batch)]
    cluster: Cluster = start_cluster(durable=True)
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for how, handed, threads in (
                ("a record at a time", work, feeders),
                (f"batches of {batch}", batches, 1),
            ):
                db = PostgresServer(cluster.url(cluster.fresh_database()))
                results.append(
                    measure(f"PostgreSQL, {how}", db, handed, threads, cluster.server_pids)
                )
                sqlite = Path(tmp) / f"bench-{len(handed)}.db"
                results.append(measure(f"SQLite, {how}", sqlite, handed, threads, None))
    finally:
        stop_cluster(cluster)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10, help="monitor time to ingest")
    parser.add_argument("--feeders", type=int, default=8, help="threads handing readings over")
    parser.add_argument("--batch", type=int, default=2000, help="readings a forwarded batch")
    args = parser.parse_args()
    run(args.chairs, args.minutes, args.feeders, args.batch)


if __name__ == "__main__":
    main()
