"""Review of a 24 h recording: load and draw its chart, against the ``vitaldb`` package reading
the same data from a ``.vital`` file, in the same run.

The day is simulated at 1 Hz (HR, pulse, SpO2 every second; NIBP every 5 min) through the
GE S/5 encoder and decoder, stored as the recorder stores it, and written with ``vitaldb`` as a
.vital file holding the same values. Timed (medians of repeated runs, each on a fresh
connection or a fresh file read):

- load: the review page's reads (the chair's readings of the session plus 15 min, its
  episodes and events) into DataFrames;
- draw: the plotly figure, thinned with MinMaxLTTB, serialised to the JSON the browser gets;
- vitaldb: ``vitaldb.VitalFile(path)`` parsing the same tracks;
- each export of the session (CSV, HL7, FHIR, PDF), for the progress they show.

    python -m bench.review [--hours 24] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from dashboard.figures import detail_figure
from simulators.offline import recorded_session
from vitals.chairs import Chair
from vitals.exchange.export import FORMATS, export, session_window
from vitals.reading import Reading
from vitals.store import StoreWriter, commands, connect_readonly, queries

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
VITAL_TRACKS = {
    "hr": "HR",
    "pulse": "PLETH_HR",
    "spo2": "PLETH_SPO2",
    "sbp": "NIBP_SBP",
    "dbp": "NIBP_DBP",
    "map": "NIBP_MBP",
}


def record_day(folder: Path, hours: float) -> tuple[Path, Path, int, int]:
    """The store and the .vital file of one simulated recording; (db, vital, session, rows)."""
    readings = recorded_session("chair-1", "typical", 3, START, int(hours * 3600), interval_s=1)
    db = folder / "review.db"
    writer = StoreWriter(db)
    writer.write_chairs([Chair("chair-1", "Chair 1", "x", "ge-s5")])
    writer.write_readings(readings)
    writer.close()
    session = commands.start_session(
        db, "chair-1", "P-BENCH", "iv-ketamine", "Bench", at=START, weight_kg=70
    )
    commands.add_event(db, session, "infusion-start", "Bench", at=START + timedelta(minutes=10))
    end = START + timedelta(hours=hours)
    commands.end_session(db, session, "Bench", "benchmark", at=end)
    vital = folder / "review.vital"
    write_vital(readings, vital)
    return db, vital, session, len(readings)


def write_vital(readings: list[Reading], path: Path) -> None:
    import vitaldb

    recording = vitaldb.VitalFile()
    for param, track in VITAL_TRACKS.items():
        recs = [
            {"dt": r.time.timestamp(), "val": r.value}
            for r in readings
            if r.param.value == param and r.value is not None
        ]
        recording.add_track(f"Solar8000/{track}", recs, unit="")
    recording.to_vital(str(path))


def load(db: Path, session_id: int) -> tuple:
    conn = connect_readonly(db)
    try:
        session = queries.session_by_id(conn, session_id)
        readings = queries.chart_readings(
            conn, session.chair, session.started - timedelta(minutes=15), session.ended
        )
        return (
            session,
            readings,
            queries.episodes(conn, session=session_id),
            queries.events(conn, session_id),
        )
    finally:
        conn.close()


def draw(loaded: tuple) -> str:
    session, readings, episodes, events = loaded
    start = pd.Timestamp(session.started) - timedelta(minutes=15)
    figure = detail_figure(readings, episodes, events, [], {}, start, pd.Timestamp(session.ended))
    return figure.to_json()


def read_vital(path: Path) -> int:
    import vitaldb

    recording = vitaldb.VitalFile(str(path))
    return sum(len(recording.find_track(n).recs) for n in recording.get_track_names())


def median_s(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def exports(db: Path, session_id: int, folder: Path) -> dict[str, float]:
    """Each export of the session as ``python -m chairside export`` writes it (streamed)."""
    conn = connect_readonly(db)
    window = session_window(conn, session_id)
    try:
        return {
            form: median_s(lambda form=form: export(conn, form, window, folder / form), 1)
            for form in FORMATS
        }
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        db, vital, session, rows = record_day(folder, args.hours)
        print(f"{args.hours:g} h at 1 Hz: {rows} readings ({time.perf_counter() - began:.0f} s)")
        print(f"store {db.stat().st_size / 1e6:.1f} MB, .vital {vital.stat().st_size / 1e6:.1f} MB")
        loaded = load(db, session)
        points = len(loaded[1])
        load_s = median_s(lambda: load(db, session), args.repeat)
        draw_s = median_s(lambda: draw(loaded), args.repeat)
        vital_s = median_s(lambda: read_vital(vital), args.repeat)
        print(f"review load  {load_s * 1000:7.0f} ms  ({points} readings into DataFrames)")
        print(f"review draw  {draw_s * 1000:7.0f} ms  (plotly figure, thinned, to JSON)")
        print(f"load + draw  {(load_s + draw_s) * 1000:7.0f} ms  (goal < 1000 ms)")
        print(f"vitaldb read {vital_s * 1000:7.0f} ms  ({read_vital(vital)} records)")
        print(f"load / vitaldb ratio {load_s / vital_s:.2f}  (goal <= 1.0)")
        for name, seconds in exports(db, session, folder).items():
            print(f"export {name:<5} {seconds * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
