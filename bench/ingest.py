"""Recorder throughput and CPU: 32 chairs in real time (their monitors sending all at once,
then each at its own moment, as monitors switched on at different times do), then at 60x.

The simulator and the recorder run as separate processes, as in production. The recorder's
CPU time is read from /proc (user + system) over the measured window; "lost" compares the
simulator's truth log with the store after the simulator has stopped and the line drained.

    python -m bench.ingest [--chairs 32] [--seconds 60] [--fast-seconds 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def stored(db: Path, since_us: int = 0) -> int:
    """Readings stored since ``since_us``: a range count per chair and parameter, so a store
    with a year of history answers as fast as a new one."""
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM chair_keys c CROSS JOIN params p CROSS JOIN readings r"
                " WHERE r.chair_key = c.key AND r.param_key = p.key AND r.t_us >= ?",
                (since_us,),
            ).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def run(
    chairs: int,
    speed: float,
    seconds: float,
    interval: int,
    tmp: Path,
    db: Path | None = None,
    stagger: bool = False,
) -> float:
    """Record ``chairs`` simulated chairs into ``db`` (a new store by default); returns the
    recorder's CPU in % of one core. ``stagger``: each monitor sends at its own moment."""
    # a run's own files
    run_name = f"{db.stem if db else 'new'}-{speed:g}x-{'staggered' if stagger else 'together'}"
    config, truth, db = (
        tmp / f"chairs-{run_name}.toml",
        tmp / f"truth-{run_name}.csv",
        db or tmp / f"c-{run_name}.db",
    )
    for stale in (config, truth):  # a run before with the same name: never read as this one
        stale.unlink(missing_ok=True)
    since = int(time.time() * 1_000_000)
    me = [sys.executable, "-m", "chairside"]
    quiet = {"cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    sim = subprocess.Popen(
        [
            *me,
            "simulate",
            "--chairs",
            str(chairs),
            "--speed",
            str(speed),
            "--interval",
            str(interval),
            "--config",
            str(config),
            "--truth",
            str(truth),
            "--run-dir",
            str(tmp / "run"),
            "--db",  # each chair's session opened in the store recorded into, as in the demo
            str(db),
            *(["--stagger"] if stagger else []),
        ],
        **quiet,
    )
    while not config.exists():
        time.sleep(0.1)
    rec = subprocess.Popen([*me, "record", "--config", str(config), "--db", str(db)], **quiet)
    time.sleep(3)  # connections made, requests answered
    rows0 = stored(db, since)
    cpu0, t0 = cpu_seconds(rec.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(rec.pid), time.monotonic()
    rows1 = stored(db, since)
    sim.send_signal(signal.SIGINT)
    sim.wait()
    time.sleep(2)
    rec.send_signal(signal.SIGINT)
    rec.wait()
    with truth.open() as f:
        sent = sum(1 for _ in csv.DictReader(f))
    kept = stored(db, since)
    elapsed = t1 - t0
    when = "each at its own moment" if stagger else "all at once"
    print(
        f"{chairs} chairs at {speed:g}x (a record every {interval} s of monitor time, {when}): "
        f"{(rows1 - rows0) / elapsed:.0f} readings/s, recorder CPU "
        f"{100 * (cpu1 - cpu0) / elapsed:.1f} % of one core over {elapsed:.0f} s; "
        f"sent {sent}, stored {kept}, lost {sent - kept}"
    )
    return 100 * (cpu1 - cpu0) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fast-seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args.chairs, 1, args.seconds, 1, Path(tmp))
        run(args.chairs, 1, args.seconds, 1, Path(tmp), stagger=True)
        run(args.chairs, 60, args.fast_seconds, 1, Path(tmp))


if __name__ == "__main__":
    main()
