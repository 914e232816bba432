"""Alarm forwarding: reading → first notification delivered, and notifications per chair-hour.

1. Latency: hypertensive chairs (simulator process, real ptys) → the recorder with its
   notifier polling every second as in production → a JSON webhook on 127.0.0.1. For each
   chair, from the first systolic at or above the critical 180 mmHg (its recorder time) to
   the webhook receiving the chair's first critical message.
2. Alarm fatigue: the demo's scenario mix on 8 chairs for 2 simulated hours, faster than
   real time, with the README's ladder (critical 30 s → phone, 2 min → team; warning 3 min;
   technical 60 s) scaled by the same speed so the ladder keeps its meaning in simulated
   time. Nobody acknowledges and no station is open: the worst case. Also the count if the
   nurse acknowledged each alarm at its first message (= alarms forwarded).

    python -m bench.notify [--latency-chairs 8] [--rounds 4] [--chairs 8] [--hours 2] [--speed 120]
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench._common import percentiles
from chairside.channels import Channels
from chairside.notifier import Notifier
from chairside.recorder import Recorder
from tests.service.receivers import Webhook
from vitals.chairs import load_chairs
from vitals.notify_config import parse_notify_config
from vitals.times import from_us

ROOT = Path(__file__).resolve().parent.parent
LADDER = [  # the README's ladder, in seconds of the clinic's time
    {"level": "critical", "after_s": 30, "channels": ["nurse-phone"]},
    {"level": "critical", "after_s": 120, "channels": ["nurse-phone", "team"]},
    {"level": "warning", "after_s": 180, "channels": ["nurse-phone"]},
    {"level": "technical", "after_s": 60, "channels": ["nurse-phone"]},
]


def simulate(tmp: Path, chairs: int, scenario: str, speed: float) -> tuple[subprocess.Popen, Path]:
    config, db = tmp / "chairs.toml", tmp / "c.db"
    sim = subprocess.Popen(
        [
            *(sys.executable, "-m", "chairside", "simulate", "--chairs", str(chairs)),
            *("--scenario", scenario, "--speed", str(speed), "--config", str(config)),
            *("--run-dir", str(tmp / "run"), "--db", str(db)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not config.exists():
        time.sleep(0.1)
    return sim, config


def record(config: Path, notify: dict, **notifier_options) -> tuple[Recorder, threading.Thread]:
    """The recorder in this process, its notifier given the bench's options."""
    settings = parse_notify_config(notify, "bench", {})
    recorder = Recorder(load_chairs(config), config.parent / "c.db")
    recorder.notifier = Notifier(
        settings, Channels(settings), recorder.writer, recorder.stop_event, **notifier_options
    )
    thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
    thread.start()
    return recorder, thread


def stop(sim: subprocess.Popen, recorder: Recorder, thread: threading.Thread) -> None:
    sim.send_signal(signal.SIGINT)
    sim.wait(timeout=30)
    recorder.stop()
    thread.join(timeout=30)


def latency(chairs: int, speed: float, rounds: int) -> None:
    """Several rounds: the chairs of one round reach 180 at nearly the same cuff cycle, so
    one round is one draw of the poll's phase; the rounds give the spread."""
    samples: list[float] = []
    for _ in range(rounds):
        samples += latency_round(chairs, speed)
    print(
        f"reading -> first notification delivered ({rounds} rounds of {chairs} hypertensive "
        f"chairs, {speed:g}x, notifier polling every second):"
    )
    print(f"  {percentiles(samples)}")


def latency_round(chairs: int, speed: float) -> list[float]:
    hook = Webhook()
    notify = {
        "channels": [{"name": "nurse-phone", "url": hook.url()}],
        "ladder": [{"level": "critical", "after_s": 0, "channels": ["nurse-phone"]}],
    }
    with tempfile.TemporaryDirectory() as tmp:
        sim, config = simulate(Path(tmp), chairs, "hypertensive", speed)
        recorder, thread = record(config, notify)  # production polling: every second
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(first_by_chair(hook)) < chairs:
            time.sleep(0.2)
        stop(sim, recorder, thread)
        offending = first_critical_readings(config.parent / "c.db")
    hook.close()
    return [
        (arrived - offending[name]).total_seconds() * 1000
        for name, arrived in first_by_chair(hook).items()
        if name in offending
    ]


def first_by_chair(hook: Webhook) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for item in hook.inbox.snapshot():
        if item.title.startswith("Chairside CRITICAL: "):
            found.setdefault(item.title.removeprefix("Chairside CRITICAL: "), item.at)
    return found


def first_critical_readings(db: Path) -> dict[str, datetime]:
    """Chair name → recorder time of its first systolic at or above the critical 180 mmHg."""
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT c.name, min(r.t_us) FROM readings r JOIN chairs c ON c.chair = r.chair"
            " WHERE r.param = 'sbp' AND r.quality = 'ok' AND r.value >= 180 GROUP BY c.name"
        ).fetchall()
    return {name: from_us(t) for name, t in rows}


def fatigue(chairs: int, hours: float, speed: float) -> None:
    hook = Webhook()
    notify = {
        "channels": [
            {"name": "nurse-phone", "url": hook.url("phone")},
            {"name": "team", "url": hook.url("team")},
        ],
        "ladder": [step | {"after_s": step["after_s"] / speed} for step in LADDER],
    }
    wall = hours * 3600 / speed
    with tempfile.TemporaryDirectory() as tmp:
        sim, config = simulate(
            Path(tmp), chairs, "typical,hypertensive,desaturation,disconnect", speed
        )
        # the notifier's clock runs in wall time; so does the simulated clinic, sped up
        recorder, thread = record(config, notify, poll_s=0.05, station_fresh_s=30 / speed)
        time.sleep(wall)
        stop(sim, recorder, thread)
        sent, alarms = audit(config.parent / "c.db")
    hook.close()
    chair_hours = chairs * hours
    total = sum(sent.values())
    print(
        f"notifications in a {hours:g} h demo of {chairs} chairs ({speed:g}x, ladder scaled; "
        "nobody acknowledges, no station open):"
    )
    for (kind, level, rule), count in sorted(sent.items()):
        print(f"  {kind:9} {level:8} {rule:22} {count:4d}")
    print(f"  total {total}: {total / chair_hours:.2f} per chair-hour (worst case)")
    print(
        f"  alarms forwarded {alarms}: {alarms / chair_hours:.2f} per chair-hour "
        "(if each is acknowledged at its first message)"
    )


def audit(db: Path) -> tuple[Counter, int]:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT e.kind, e.level, e.rule, count(*) FROM notifications n"
            " JOIN episodes e ON e.id = n.episode WHERE n.delivered = 1 GROUP BY 1, 2, 3"
        ).fetchall()
        (alarms,) = conn.execute("SELECT count(DISTINCT episode) FROM notifications").fetchone()
    return Counter({(k, lv, rule): c for k, lv, rule, c in rows}), alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-chairs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--chairs", type=int, default=8)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--speed", type=float, default=120.0)
    args = parser.parse_args()
    print(f"bench.notify at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    latency(args.latency_chairs, args.speed, args.rounds)
    fatigue(args.chairs, args.hours, args.speed)


if __name__ == "__main__":
    main()
