"""How the pages and the recorder grow with a clinic's history: a week, a month, a year.

Each store is eight chairs, eight hours a clinic day, five days a week, built by the project's
own generator (``simulators.clinic_history``: the patient model at 1 Hz, sessions, events,
acknowledged alerts from the live engine, each chair's last session still open). The
readings are generated straight into the store through its own functions, not through the
wire protocols, which would take longer than everything else at a year. For each size it
prints the file and bytes a reading, then the median server time of what each page reads and
draws: the session list (first page, and a filtered page), one session's review (chart and
logs; its what-if apart, run when asked), one patient's course, chair detail, an overview
refresh; the recorder's start (launch to first committed reading, its open sessions
replayed); and the recorder's CPU with 32 simulated chairs live. Sizes whose build would not
fit the disk or ``--max-days`` are extrapolated from the curve of the built ones (and say so).

    python -m bench.growth [--sizes week,month,year] [--dir DIR] [--max-days 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd

from bench._common import table
from bench.dashboard import overview_data
from bench.dashboard import timed as timed_ms
from bench.ingest import run as ingest
from bench.ingest import stored
from dashboard.figures import detail_figure
from dashboard.pages.chair import _chair_data
from dashboard.pages.review import _review_data
from simulators.clinic_history import HistorySpec, build_history
from vitals.clinical import load_protocol
from vitals.review import course, session_page, what_if
from vitals.store import connect_readonly, queries
from vitals.store.connection import Store
from vitals.store.listing import SessionFilter

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"week": 5, "month": 22, "year": 252}  # clinic days
BYTES_PER_DAY_GUESS = 20e6  # before the first build tells: 8 chairs x 8 h at ~28 B a reading
FIGURES = (
    "file MB",
    "B/reading",
    "list p1 ms",
    "list filtered ms",
    "review ms",
    "course ms",
    "chair ms",
    "overview ms",
    "what-if ms",
    "start s",
    "of which imports s",
    "ingest CPU %",
)


def pages(db: Store, chair: str = "chair-1", other: str = "chair-3") -> dict[str, float]:
    """Median ms of what each page reads and draws, on a fresh connection each time: the
    chair page of ``chair`` (its session open), the list narrowed to ``other``'s critical
    sessions."""
    conn = connect_readonly(db)
    try:
        now = pd.Timestamp.now(tz="UTC")
        patient = conn.execute(
            "SELECT patient FROM sessions GROUP BY patient ORDER BY count(*) DESC, patient LIMIT 1"
        ).fetchone()[0]
        (middle,) = conn.execute(
            "SELECT id FROM sessions WHERE ended_us IS NOT NULL ORDER BY started_us, id"
            " LIMIT 1 OFFSET (SELECT count(*) / 2 FROM sessions WHERE ended_us IS NOT NULL)"
        ).fetchone()
    finally:
        conn.close()
    narrowed = SessionFilter(chairs=(other,), critical=True)
    return {
        "list p1 ms": timed_ms(lambda: _on(db, lambda c: session_page(c, now, keep=db))),
        "list filtered ms": timed_ms(
            lambda: _on(db, lambda c: session_page(c, now, narrowed, keep=db))
        ),
        "review ms": timed_ms(lambda: _on(db, lambda c: review(c, middle))),
        "course ms": timed_ms(lambda: _on(db, lambda c: course(c, patient, now, keep=db))),
        "chair ms": timed_ms(lambda: _on(db, lambda c: chair_detail(c, now, chair))),
        "overview ms": timed_ms(lambda: overview_data(db), runs=15),
        "what-if ms": what_if_ms(db, middle),
    }


def _on(db: Store, work: Callable) -> object:
    conn = connect_readonly(db)
    try:
        return work(conn)
    finally:
        conn.close()


def review(conn, session_id: int) -> None:
    """The Review page of one session as it opens: its data and its chart (the what-if runs
    only when asked; ``what_if_ms`` times it)."""
    session, readings, episodes, events, thresholds, baselines, end = _review_data(conn, session_id)
    start = pd.Timestamp(session.started) - timedelta(minutes=15)
    detail_figure(
        readings, episodes, events, thresholds, baselines, start, pd.Timestamp(end)
    ).to_plotly_json()


def what_if_ms(db: Store, session_id: int) -> float:
    """The what-if of one session with its own protocol's thresholds, when a nurse asks."""
    conn = connect_readonly(db)
    try:
        rules = load_protocol(queries.session_by_id(conn, session_id).protocol).rules
        return timed_ms(lambda: what_if(conn, session_id, rules), runs=3)
    finally:
        conn.close()


def chair_detail(conn, now: pd.Timestamp, chair: str = "chair-1") -> None:
    """Chair detail of a chair with an open session, over the session."""
    _, start, readings, episodes, _, _, events, baselines, _, _ = _chair_data(
        conn, chair, "Session", now
    )
    base = {b.param.value: b.value for b in baselines.values() if b.value is not None}
    detail_figure(readings, episodes, events, [], base, start, now).to_plotly_json()


def recorder_start(db: Path, tmp: Path) -> float:
    """Seconds from launching ``record`` to its first committed reading, 8 simulated chairs
    already sending (on pseudo-terminals), the store's open sessions replayed at start."""
    me = [sys.executable, "-m", "chairside"]
    quiet = {"cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    config = tmp / "start.toml"
    options = ["--no-sessions", "--interval", "1", "--config", str(config)]
    sim = subprocess.Popen(
        [*me, "simulate", "--chairs", "8", *options, "--run-dir", str(tmp / "run")], **quiet
    )
    try:
        while not config.exists():
            time.sleep(0.05)
        time.sleep(1)
        since = int(time.time() * 1_000_000)
        began = time.perf_counter()
        rec = subprocess.Popen([*me, "record", "--config", str(config), "--db", str(db)], **quiet)
        while stored(db, since) == 0:
            time.sleep(0.02)
        seconds = time.perf_counter() - began
        rec.terminate()
        rec.wait()
    finally:
        sim.terminate()
        sim.wait()
    return seconds


def imports_s() -> float:
    """What every start costs whatever the store: the interpreter and the recorder's imports."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import chairside.cli, chairside.recorder"], cwd=ROOT)
    return time.perf_counter() - began


def measure(stores: dict[str, tuple[Path, int]], rounds: int, ingest_s: float) -> dict:
    """Every figure of every store. The sizes are measured in turn, ``rounds`` times over, and
    each figure is the median of its rounds: a machine that others share is slower now and
    then, and taking turns lets that fall on every size alike instead of on one. The pages
    read the store; the recorder's start and 32 live chairs run on a copy of it, which they
    change (chairs added, sessions ended and started, readings written)."""
    seen: dict[str, list[dict[str, float]]] = {size: [] for size in stores}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        for last in [False] * (rounds - 1) + [True]:
            for size, (db, _) in stores.items():
                copy = tmp / db.name
                shutil.copy(db, copy)
                figures = pages(db)
                figures["start s"] = recorder_start(copy, tmp)
                figures["of which imports s"] = imports_s()
                if last:
                    # on the store as built: the start's simulated chairs left "no cuff result
                    # yet" as their last NIBP, which the S/5 decoder rightly does not store
                    # again when the next simulator repeats it, and "lost" would count it
                    for left in (copy, *(copy.with_name(copy.name + e) for e in ("-wal", "-shm"))):
                        left.unlink(missing_ok=True)
                    shutil.copy(db, copy)
                    figures["ingest CPU %"] = ingest(32, 1, ingest_s, 1, tmp, copy, stagger=True)
                seen[size].append(figures)
                copy.unlink()
    out = {}
    for size, (db, readings) in stores.items():
        size_of = db.stat().st_size
        out[size] = {"file MB": size_of / 1e6, "B/reading": size_of / readings} | {
            name: statistics.median(f[name] for f in seen[size] if name in f)
            for name in seen[size][-1]
        }
    return out


def extrapolated(
    built: dict[str, tuple[int, dict]], days: int, times: tuple[str, ...] = FIGURES[2:]
) -> dict[str, float]:
    """A size not built: the file grows in proportion to the days. A time that grew far less
    than the history between the built sizes (under 1.5x while the history grew 4x) does not
    depend on it: the year gets the larger measured value, since a straight line through two
    noisy medians would only extend the noise. A time that did grow is extended linearly."""
    (small_days, small), (large_days, large) = sorted(built.values(), key=lambda b: b[0])[-2:]
    out = {"file MB": large["file MB"] / large_days * days, "B/reading": large["B/reading"]}
    for name in times:
        low, high = small[name], large[name]
        if high <= 1.5 * low:
            out[name] = max(low, high)
        else:
            slope = (high - low) / (large_days - small_days)
            out[name] = high + slope * (days - large_days)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="week,month,year")
    parser.add_argument("--dir", type=Path, help="keep the stores here (reused when present)")
    parser.add_argument("--max-days", type=int, default=30, help="build sizes up to this")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ingest-seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        stores, later = {}, []
        for size in args.sizes.split(","):
            days = SIZES[size]
            per_day = BYTES_PER_DAY_GUESS
            if stores:
                first_db, first_days = next((db, SIZES[s]) for s, (db, _) in stores.items())
                per_day = first_db.stat().st_size / first_days
            if days > args.max_days or per_day * days * 2.5 > shutil.disk_usage(folder).free:
                later.append(size)
                continue
            db = folder / f"{size}.db"
            stores[size] = (db, build(db, days))
        rows = measure(stores, args.rounds, args.ingest_seconds)
        built = {size: (SIZES[size], figures) for size, figures in rows.items()}
        if len(built) > 1:
            rows |= {size: extrapolated(built, SIZES[size]) for size in later}
        notes = {size: " (extrapolated)" for size in later if size in rows}
        print(table({f"{size}{notes.get(size, '')}": f for size, f in rows.items()}, FIGURES))
    return 0


def build(db: Path, days: int) -> int:
    """Build the store once (reuse one left in ``--dir``); returns its number of readings."""
    if not db.exists():
        began = time.perf_counter()
        counts = build_history(db, HistorySpec(days=days))
        print(
            f"built {db.name}: {days} clinic days, {counts.readings:,} readings,"
            f" {counts.sessions} sessions, {counts.episodes} episodes"
            f" in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
    return stored(db)


if __name__ == "__main__":
    raise SystemExit(main())
