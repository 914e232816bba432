"""Forwarding catch-up: a site of 32 chairs whose link to the central store was down an hour.

The site's store holds the hour the central store missed (in its outbox, filled by the
forwarding trigger as the recorder stored it); the link comes back and the relay catches up
in batches while the chairs go on sending in real time. Printed per central store (a SQLite
file; PostgreSQL on ``--server URL`` or, when PostgreSQL is installed, a throw-away server
with fsync and synchronous commits as in production):
readings sent per second, time until nothing waits, the site's CPU (relay + the live writes)
and the server's (all its processes), and the site process's memory before and after. A second
site catching up into the same central store shows how the rate holds as the central store
grows. First, what forwarding costs acquisition: storing the hour with and without the
outbox trigger.

    python -m bench.forward [--chairs 32] [--hours 1] [--interval 5] [--server URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chairside.relay import CentralRelay, RelayTarget
from vitals.chairs import Chair
from vitals.reading import Param, Reading
from vitals.store import StoreWriter, connect_readonly
from vitals.store.central import open_central
from vitals.store.relay import relay_status

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NIBP_EVERY_S = 300
CONTINUOUS = (Param.HR, Param.PULSE, Param.SPO2)
NIBP = ((Param.SBP, 128.0), (Param.DBP, 79.0), (Param.MAP, 95.0))


def chairs(count: int) -> list[Chair]:
    return [Chair(f"chair-{i}", f"Chair {i}", f"/dev/ttyUSB{i}", "ge-s5") for i in range(count)]


def second_of_data(count: int, at: datetime, second: int, interval: int) -> list[Reading]:
    """What ``count`` chairs send in one second: continuous values every ``interval`` s, a
    cuff result every five minutes."""
    out: list[Reading] = []
    for i in range(count):
        chair = f"chair-{i}"
        if (second + i) % interval == 0:
            out += [
                Reading(p, 60.0 + (second + i) % 30, time=at, chair=chair, source="ge-s5")
                for p in CONTINUOUS
            ]
        if (second + i * 7) % NIBP_EVERY_S == 0:
            out += [Reading(p, v, time=at, chair=chair, source="ge-s5") for p, v in NIBP]
    return out


def fill(writer: StoreWriter, count: int, start: datetime, seconds: int, interval: int) -> int:
    """Store ``seconds`` of the chairs' data as the recorder would (10 s per commit)."""
    stored = 0
    for block in range(0, seconds, 10):
        batch: list[Reading] = []
        for s in range(block, min(block + 10, seconds)):
            batch += second_of_data(count, start + timedelta(seconds=s), s, interval)
        writer.post_readings(batch)
        stored += len(batch)
    return stored


def ingest_cost(
    tmp: Path, count: int, seconds: int, interval: int, rounds: int = 3
) -> tuple[float, float, int]:
    """Median seconds to store the hour without and with the outbox trigger (taken in turn,
    so a busy moment of a shared machine falls on both alike), and the readings."""
    times: dict[bool, list[float]] = {False: [], True: []}
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    stored = 0
    for round_ in range(rounds):
        for forwarding in (False, True):
            writer = StoreWriter(tmp / f"ingest-{forwarding}-{round_}.db")
            writer.write_chairs(chairs(count))
            if forwarding:
                target = RelayTarget(str(tmp / "nowhere.db"), "site")
                CentralRelay(writer, target, threading.Event()).enable()
            began = time.perf_counter()
            stored = fill(writer, count, start, seconds, interval)
            times[forwarding].append(time.perf_counter() - began)
            writer.close()
    return statistics.median(times[False]), statistics.median(times[True]), stored


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def catch_up(
    tmp: Path, target: str, server_pids, site: str, count: int, seconds: int, interval: int
) -> dict[str, Any]:
    """One site: an hour stored while the link was down, then the relay catches up while
    the chairs go on in real time."""
    writer = StoreWriter(tmp / f"{site}.db")
    writer.write_chairs(chairs(count))
    stop = threading.Event()
    relay = CentralRelay(writer, RelayTarget(target, site), stop)
    relay.enable()
    now = datetime.now(UTC).replace(microsecond=0)
    outage_start = now - timedelta(seconds=seconds)
    waiting = fill(writer, count, outage_start, seconds, interval)

    live_sent = [0]

    def live() -> None:  # the chairs do not stop while the relay catches up
        second = seconds
        while not stop.wait(1.0):
            batch = second_of_data(count, datetime.now(UTC), second, interval)
            writer.post_readings(batch)
            live_sent[0] += len(batch)
            second += 1

    relay._connect()  # the link is back: the connection is made before the clock starts
    pids = server_pids() if server_pids else []
    rss_before = rss_mib()
    chairs_thread = threading.Thread(target=live, daemon=True)
    chairs_thread.start()
    cpu0, server0, began = time.process_time(), _cpu(pids), time.perf_counter()
    while relay.step():
        pass
    wall = time.perf_counter() - began
    cpu, server = time.process_time() - cpu0, _cpu(pids) - server0
    rss_after = rss_mib()
    stop.set()
    chairs_thread.join()
    while relay.step():  # what came in during the last second
        pass
    conn = connect_readonly(writer.path)
    status = relay_status(conn)
    conn.close()
    relay._close()
    writer.close()
    sent = waiting + live_sent[0]
    return {
        "readings": waiting,
        "live": live_sent[0],
        "seconds": wall,
        "rate": sent / wall,
        "site_cpu": 100 * cpu / wall,
        "server_cpu": (100 * server / wall) if pids else None,
        "rss": (rss_before, rss_after),
        "left": status.readings_waiting,
    }


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_of(pid)
        except OSError:  # a process that ended meanwhile
            continue
    return total


def servers(tmp: Path, url: str | None):
    """(name, target, the server's processes or None) for each central store to measure."""
    central = tmp / "central.db"
    open_central(str(central)).close()
    yield "SQLite file", str(central), None
    if url:
        yield "PostgreSQL", url, None
        return
    try:
        from tests.pg_cluster import start_cluster, stop_cluster
    except ImportError:
        return
    try:
        cluster = start_cluster(durable=True)  # fsync and synchronous commits, as in production
    except BaseException as exc:  # pytest's skip when PostgreSQL is absent
        print(f"(PostgreSQL not measured: {exc})")
        return
    try:
        yield "PostgreSQL (local)", cluster.url(cluster.fresh_database()), cluster.server_pids
    finally:
        stop_cluster(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=32)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--interval", type=int, default=5, help="seconds between values")
    parser.add_argument("--server", help="a PostgreSQL URL to forward to (default: throw-away)")
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    with tempfile.TemporaryDirectory(prefix="bench-forward-") as folder:
        tmp = Path(folder)
        plain, forwarding, stored = ingest_cost(tmp, args.chairs, seconds, args.interval)
        print(
            f"\nStoring {args.hours:g} h of {args.chairs} chairs ({stored:,} readings, values "
            f"every {args.interval} s, 10 s per commit; medians of 3 taken in turn)"
        )
        print(f"  {'without forwarding':<22}{plain:7.2f} s  {stored / plain:10,.0f} readings/s")
        print(
            f"  {'with the outbox':<22}{forwarding:7.2f} s  {stored / forwarding:10,.0f} readings/s"
            f"  (+{1e6 * (forwarding - plain) / stored:.1f} µs a reading)"
        )
        print(f"\nCatch-up after a {args.hours:g}-hour outage, chairs still sending meanwhile")
        header = (
            f"  {'central store':<20}{'site':<7}{'waiting':>9}{'+ live':>8}{'catch-up':>10}"
            f"{'readings/s':>12}{'site CPU':>10}{'server CPU':>12}{'RSS MiB':>15}"
        )
        print(header)
        for name, target, pids in servers(tmp, args.server):
            sites = tmp / name.split()[0]
            sites.mkdir()
            for site in ("site-1", "site-2"):
                r = catch_up(sites, target, pids, site, args.chairs, seconds, args.interval)
                server = f"{r['server_cpu']:.0f} %" if r["server_cpu"] is not None else "-"
                print(
                    f"  {name:<20}{site:<7}{r['readings']:>9,}{r['live']:>8,}"
                    f"{r['seconds']:>9.1f}s{r['rate']:>12,.0f}{r['site_cpu']:>9.0f}%"
                    f"{server:>12}{r['rss'][0]:>7.0f}→{r['rss'][1]:.0f}"
                )
                if r["left"]:
                    print(f"    ({r['left']:,} readings still waiting: the relay stopped early)")


if __name__ == "__main__":
    main()
