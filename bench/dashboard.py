"""Server time of the dashboard: one overview refresh with 32 chairs of 8 h history, and the
chair-detail figure of a 2 h session.

The store is filled from simulated sessions (GE S/5 frames every 5 s, encoded and decoded),
each chair with an open session and the episodes the engine raises. Figures are medians of
repeated runs: the data work (queries, tile model, HTML, plotly figure) and, for the
overview, the whole page script under Streamlit's AppTest.

    python -m bench.dashboard [--chairs 32] [--hours 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

from dashboard.auth import Station
from dashboard.figures import detail_figure
from dashboard.overview_model import build_tiles
from dashboard.tile_html import tile_html
from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.clinical import load_protocol
from vitals.engine import evaluate
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.times import to_us
from vitals.verdict import discharge_verdict, session_baselines

SCENARIOS = ("typical", "hypertensive", "desaturation", "tachycardia")


def fill(db: Path, chairs: int, hours: float) -> None:
    now = utc_now()
    start = now - timedelta(hours=hours)
    writer = StoreWriter(db)
    writer.write_chairs(
        [Chair(f"chair-{i + 1}", f"Chair {i + 1}", "x", "ge-s5") for i in range(chairs)]
    )
    rules = load_protocol("iv-ketamine").rules
    for i in range(chairs):
        chair = f"chair-{i + 1}"
        readings = recorded_session(chair, SCENARIOS[i % 4], i, start, int(hours * 3600))
        writer.write_readings(readings)
        session_start = now - timedelta(hours=2)
        episodes = evaluate(rules, [r for r in readings if r.time >= session_start])
        writer.write_episodes(chair, None, episodes)
    writer.beat(to_us(start), to_us(now))
    writer.close()
    for i in range(chairs):
        chair = f"chair-{i + 1}"
        session = commands.start_session(
            db,
            chair,
            f"P-{i:04d}",
            "iv-ketamine",
            "bench",
            weight_kg=70,
            at=now - timedelta(hours=2),
        )
        commands.add_event(db, session, "infusion-start", "bench", at=now - timedelta(minutes=110))


def timed(work, runs: int = 15) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def overview_data(db: Path) -> None:
    conn = connect_readonly(db)
    try:
        now = pd.Timestamp.now(tz="UTC")
        tiles = build_tiles(conn, now)
        queries.visible_episodes(conn)
        queries.heartbeat(conn)
        "".join(tile_html(t) for t in tiles)
    finally:
        conn.close()


def detail_data(db: Path) -> None:
    conn = connect_readonly(db)
    try:
        now = pd.Timestamp.now(tz="UTC")
        session = queries.active_session(conn, "chair-2")
        start = pd.Timestamp(session.started)
        readings = queries.chart_readings(conn, "chair-2", start.to_pydatetime())
        episodes = queries.episodes(conn, chair="chair-2")
        events = queries.events(conn, session.id)
        baselines = session_baselines(conn, session)
        discharge_verdict(conn, session.id, now.to_pydatetime())
        thresholds = [
            (r.param.value, lvl.label, v)
            for r in session.rules.rules
            if not r.relative
            for lvl, v in r.tiers
        ]
        base = {b.param.value: b.value for b in baselines.values() if b.value is not None}
        detail_figure(readings, episodes, events, thresholds, base, start, now).to_plotly_json()
    finally:
        conn.close()


def overview_page(db: Path) -> float:
    from streamlit.testing.v1 import AppTest

    os.environ["CHAIRSIDE_DB"] = str(db)
    script = "from dashboard.pages.overview import overview_page\noverview_page()\n"

    at = AppTest.from_string(script, default_timeout=60)
    at.session_state["station"] = Station("bench", time.time(), "bench")
    at.run()  # first run imports and compiles; later runs are what a refresh costs
    return timed(at.run, runs=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chairs", type=int, default=32)
    parser.add_argument("--hours", type=float, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        began = time.perf_counter()
        fill(db, args.chairs, args.hours)
        conn = connect_readonly(db)
        (count,) = conn.execute("SELECT count(*) FROM readings").fetchone()
        conn.close()
        print(
            f"store: {args.chairs} chairs x {args.hours:g} h, {count:,} readings "
            f"(filled in {time.perf_counter() - began:.0f} s)"
        )
        overview_ms, page_ms = timed(lambda: overview_data(db)), overview_page(db)
        detail_ms = timed(lambda: detail_data(db))
        print(f"overview refresh, data + tiles + HTML: {overview_ms:.1f} ms (median)")
        print(f"overview page script under AppTest:   {page_ms:.1f} ms (median)")
        print(f"chair detail, 2 h session figure:      {detail_ms:.1f} ms (median)")


if __name__ == "__main__":
    main()
