"""Read-side queries for the dashboard, the tests and outside scripts; all return DataFrames.

Times come back as pandas UTC timestamps (``time``) so callers never handle raw microseconds.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime

from vitals.engine import Episode
from vitals.heart_rate import HeartRateSources
from vitals.lazy import lazy
from vitals.reading import UNITS, Param, Quality, Reading
from vitals.rules import Level
from vitals.sessions import Session
from vitals.store.pg import is_pg
from vitals.store.rule_sets import SESSION_RULES
from vitals.store.sql import rules_from_json
from vitals.times import from_us, to_us
from vitals.wording import chair_label

pd = lazy("pandas")

READING_COLUMNS = ["chair", "time", "device_time", "param", "value", "unit", "quality", "source"]
READING_TIMES = {"time": "t_us", "device_time": "device_us"}
EPISODE_TIMES = {
    "started": "started_us",
    "ended": "ended_us",
    "peak_time": "peak_us",
    "acked": "acked_us",
}


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, unit="us", utc=True)


def read_frame(
    conn: sqlite3.Connection, sql: str, params: tuple = (), **times: str
) -> pd.DataFrame:
    """Run a query; each ``name="column_us"`` becomes a UTC timestamp column ``name``.

    The frame is built from the cursor, not by ``pandas.read_sql_query``: pandas takes only
    SQLite among DBAPI connections without warning, and the store reads PostgreSQL too.
    """
    cursor = conn.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)
    for name, column in times.items():
        frame[name] = _utc(frame.pop(column))
    return frame


def chairs(conn: sqlite3.Connection) -> pd.DataFrame:
    """Configured chairs in the order nurses expect to see them."""
    return read_frame(
        conn,
        "SELECT chair, name, port, protocol, no_data_after_s FROM chairs ORDER BY position, chair",
    )


def chair_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Every configured chair's label for the pages (``wording.chair_label``), by id."""
    return {
        chair: chair_label(chair, name)
        for chair, name in conn.execute("SELECT chair, name FROM chairs")
    }


def latest_readings(conn: sqlite3.Connection) -> pd.DataFrame:
    """The newest reading of every parameter of every chair (one probe per pair, at the end of
    its key range)."""
    frame = read_frame(
        conn,
        # CROSS JOIN keeps SQLite's planner from making readings the outer loop (a full
        # scan); PostgreSQL takes CROSS JOIN only without ON, so the join terms are the WHERE
        """
        SELECT c.chair, r.t_us, r.t_us + r.device_offset_us AS device_us, p.param, r.value,
               p.unit, q.quality, s.source
        FROM chairs ch
        JOIN chair_keys c ON c.chair = ch.chair
        CROSS JOIN params p
        CROSS JOIN readings r
        JOIN qualities q ON q.key = r.quality_key
        JOIN sources s ON s.key = r.source_key
        WHERE r.chair_key = c.key AND r.param_key = p.key
          AND r.t_us = (SELECT max(t_us) FROM readings
                        WHERE chair_key = c.key AND param_key = p.key)
          AND r.seq = (SELECT max(seq) FROM readings
                       WHERE chair_key = c.key AND param_key = p.key AND t_us = r.t_us)
        ORDER BY ch.position, p.param
        """,
        **READING_TIMES,
    )
    return frame[READING_COLUMNS]


# One parameter of one chair in [start, end): a single range of the clustered key, already in
# time order. A window of several parameters merges these ranges (heapq.merge) rather than
# asking SQLite to sort a day of rows.
IN_RANGE = "chair_key = ? AND param_key = ? AND t_us >= ? AND t_us < ? {valued}"
RANGE_SQL = (
    "SELECT t_us, param_key, seq, value, quality_key, device_offset_us, source_key"  # noqa: S608
    f" FROM readings WHERE {IN_RANGE} ORDER BY t_us, seq"
)
VALUED_OK = (
    "AND quality_key = (SELECT key FROM qualities WHERE quality = 'ok') AND value IS NOT NULL"
)


def _keys(
    conn: sqlite3.Connection, chair: str, params: Collection[Param] | None
) -> tuple[int | None, list[int]]:
    """The chair's key (None if it never had a reading) and the keys of ``params`` (all)."""
    row = conn.execute("SELECT key FROM chair_keys WHERE chair = ?", (chair,)).fetchone()
    wanted = None if params is None else {p.value for p in params}
    keys = [
        k
        for k, p in conn.execute("SELECT key, param FROM params ORDER BY key")
        if wanted is None or p in wanted
    ]
    return (row[0] if row else None), keys


def _window_rows(
    conn: sqlite3.Connection,
    chair: str,
    start: datetime,
    end: datetime | None,
    params: Collection[Param] | None = None,
    valued_ok: bool = False,
) -> Iterator[tuple]:
    """A chair's readings of ``params`` (all by default) in ``[start, end)``, oldest first and
    lazily: (t_us, param_key, seq, value, quality_key, offset, source_key); ``valued_ok``: only
    readings of quality ok that carry a value."""
    chair_key, param_keys = _keys(conn, chair, params)
    if chair_key is None:
        return iter(())
    sql = RANGE_SQL.format(valued=VALUED_OK if valued_ok else "")  # constant fragments
    bounds = (to_us(start), to_us(end) if end else 2**62)
    return heapq.merge(*(conn.execute(sql, (chair_key, k, *bounds)) for k in param_keys))


@dataclass(frozen=True)
class Names:
    """The lookup tables' keys to names, read once per query (a handful of rows each)."""

    params: dict[int, Param]
    qualities: dict[int, Quality]
    sources: dict[int, str]

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> Names:
        return cls(
            {k: Param(n) for k, n in conn.execute("SELECT key, param FROM params")},
            {k: Quality(n) for k, n in conn.execute("SELECT key, quality FROM qualities")},
            dict(conn.execute("SELECT key, source FROM sources")),
        )


def readings_between(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """A chair's readings in ``[start, end)``, oldest first, every column."""
    names = Names.of(conn)
    rows = [
        (
            chair,
            t,
            None if off is None else t + off,
            names.params[p].value,
            v,
            UNITS[names.params[p]],
            names.qualities[q].value,
            names.sources[s],
        )
        for t, p, _, v, q, off, s in _window_rows(conn, chair, start, end)
    ]
    columns = ["chair", "t_us", "device_us", "param", "value", "unit", "quality", "source"]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["value"] = frame["value"].astype(float)
    frame["time"] = _utc(frame.pop("t_us").astype("int64"))
    frame["device_time"] = _utc(frame.pop("device_us").astype(float))
    return frame[READING_COLUMNS]


def chart_readings(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """What a chart draws of ``[start, end)``: time, param, value, quality, oldest first.

    Half the columns of ``readings_between``, read a parameter at a time (each a range of the
    clustered key) and put in time order by numpy: a day at 1 Hz (260 000 readings) loads in a
    fraction of a second, which is what keeps a long review fast.
    """
    names = Names.of(conn)
    chair_key, param_keys = _keys(conn, chair, None)
    bounds = (to_us(start), to_us(end) if end else 2**62)
    parts = [
        pd.DataFrame(
            conn.execute(
                "SELECT t_us, value, quality_key FROM readings"
                " WHERE chair_key = ? AND param_key = ? AND t_us >= ? AND t_us < ?"
                " ORDER BY t_us, seq",
                (chair_key, key, *bounds),
            ).fetchall(),
            columns=["t_us", "value", "quality"],
        ).assign(param=names.params[key].value)
        for key in param_keys
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values("t_us", kind="stable", ignore_index=True)
    qualities = {k: q.value for k, q in names.qualities.items()}
    return pd.DataFrame(
        {
            "time": _utc(frame.t_us.astype("int64")),
            "param": frame.param.astype(object),
            "value": frame.value.astype(float),
            "quality": frame.quality.map(qualities).astype(object),
        }
    )


def device_states(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per device; ``unused`` is a dict of kind → count of what gave no reading."""
    frame = read_frame(
        conn,
        "SELECT chair, device, state, since_us, frames_ok, frames_bad, reconnects, last_error,"
        " last_data_us, updated_us, unused_json, failures, dropouts FROM device_state"
        " ORDER BY chair, device",
        since="since_us",
        last_data="last_data_us",
        updated="updated_us",
    )
    frame["unused"] = [json.loads(text) for text in frame.pop("unused_json")]
    return frame


def heartbeat(conn: sqlite3.Connection) -> dict | None:
    """The recorder's last sign of life, or None if no recorder ever wrote to this store."""
    row = conn.execute(
        "SELECT pid, host, started_us, beat_us, stopped_us FROM heartbeat"
    ).fetchone()
    if row is None:
        return None
    pid, host, started, beat, stopped = row
    return {
        "pid": pid,
        "host": host,
        "started": pd.Timestamp(started, unit="us", tz="UTC"),
        "beat": pd.Timestamp(beat, unit="us", tz="UTC"),
        "stopped": pd.Timestamp(stopped, unit="us", tz="UTC") if stopped else None,
    }


SESSION_SELECT = (
    f"SELECT id, chair, patient, protocol, started_us, started_by, {SESSION_RULES},"  # noqa: S608
    " rules_changed_us, ended_us, dose_us, weight_kg, dose_mg, baseline_json,"
    " (SELECT \"by\" FROM events WHERE session = sessions.id AND kind IN ('dose', 'infusion-start')"
    "  ORDER BY t_us, id LIMIT 1) FROM sessions"
)


def active_session(conn: sqlite3.Connection, chair: str) -> Session | None:
    """The chair's open session with the rules in force, or None."""
    row = conn.execute(
        SESSION_SELECT + " WHERE chair = ? AND ended_us IS NULL", (chair,)
    ).fetchone()
    return _session(row) if row else None


# What the chairs' alerting is built from, read for every chair at once: a few short columns
# of the open sessions, not their rule sets.
OPEN_SESSION_SIGNATURES = (
    "SELECT chair, id, protocol, rules_changed_us, dose_us, baseline_json FROM sessions"
    " WHERE ended_us IS NULL"
)


def open_session_signatures(conn: sqlite3.Connection) -> dict[str, tuple]:
    """``session_signature`` of every chair's open session, without reading their rules."""
    return {
        chair: _signature(sid, protocol, changed_us, dose_us, json.loads(baseline))
        for chair, sid, protocol, changed_us, dose_us, baseline in conn.execute(
            OPEN_SESSION_SIGNATURES
        )
    }


def session_signature(session: Session | None) -> tuple | None:
    """What a chair's alert engine is built from: a change of any of these rebuilds it
    (the session, its protocol, its rules' last change, the dose, the baselines entered)."""
    if session is None:
        return None
    dose_us = to_us(session.dose_time) if session.dose_time else None
    baseline = {p.value: v for p, v in session.baseline_entered.items()}
    return _signature(session.id, session.protocol, to_us(session.rules_changed), dose_us, baseline)


def _signature(
    session: int, protocol: str, changed_us: int, dose_us: int | None, baseline: dict
) -> tuple:
    """One shape for both reads above, which must give equal tuples for the same session."""
    return (session, protocol, changed_us, dose_us, tuple(sorted(baseline.items())))


def session_by_id(conn: sqlite3.Connection, session: int) -> Session | None:
    row = conn.execute(SESSION_SELECT + " WHERE id = ?", (session,)).fetchone()
    return _session(row) if row else None


def _session(row: tuple) -> Session:
    (sid, chair, patient, protocol, started, by, rules, changed, ended, dose, weight, mg, base) = (
        row[:13]
    )
    return Session(
        id=sid,
        chair=chair,
        patient=patient,
        protocol=protocol,
        started=from_us(started),
        started_by=by,
        rules=rules_from_json(rules),
        rules_changed=from_us(changed),
        ended=from_us(ended) if ended else None,
        dose_time=from_us(dose) if dose else None,
        weight_kg=weight,
        dose_mg=mg,
        baseline_entered={Param(k): v for k, v in json.loads(base).items()},
        dosed_by=row[13] or "",
    )


SESSION_COLUMNS = (
    "SELECT id AS session, chair, patient, protocol, started_us, ended_us, dose_us,"
    " started_by, ended_by, discharge FROM sessions s"
)
SESSION_TIMES = {"started": "started_us", "ended": "ended_us", "dose": "dose_us"}


def open_sessions(conn: sqlite3.Connection) -> pd.DataFrame:
    """Sessions not yet ended (one a chair at most), oldest first."""
    return read_frame(
        conn, SESSION_COLUMNS + " WHERE ended_us IS NULL ORDER BY started_us", **SESSION_TIMES
    )


@contextlib.contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Every read inside sees the store at one moment, however long the reads take (a summary
    must not mix readings committed after the change count it stores)."""
    if conn.in_transaction:
        yield
        return
    # PostgreSQL's default (READ COMMITTED) sees each statement's own moment; SQLite's
    # deferred BEGIN keeps the first read's moment to the end, and takes no ISOLATION words
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" if is_pg(conn) else "BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


EPISODE_SELECT = """
    SELECT e.id, e.chair, e.session, e.rule, e.param, e.kind, e.level, e.started_us, e.ended_us,
           e.peak_value, e.peak_us, e.reason, e.rule_json,
           (SELECT "by" FROM acknowledgments WHERE episode = e.id ORDER BY t_us, id LIMIT 1)
               AS acked_by,
           (SELECT min(t_us) FROM acknowledgments WHERE episode = e.id) AS acked_us,
           coalesce((SELECT comment FROM acknowledgments WHERE episode = e.id
                     ORDER BY t_us, id LIMIT 1), '') AS acked_comment
    FROM episodes e
"""


def episodes(
    conn: sqlite3.Connection,
    chair: str | None = None,
    session: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Episodes, oldest first, with their first acknowledgment: a chair's or a session's, and
    with ``since``/``until`` only those a chart of that window shows (still open at ``since``
    or ended after it, started before ``until``)."""
    terms, values = ["1 = 1"], []
    if since is not None:
        terms.append("(e.ended_us IS NULL OR e.ended_us >= ?)")
        values.append(to_us(since))
    if until is not None:
        terms.append("e.started_us < ?")
        values.append(to_us(until))
    return _episode_frame(conn, terms, values, chair, session)


# Open, or critical and not yet acknowledged (latched): the first term is the WHERE of the
# partial index episodes_visible, which holds only those that can still be either.
VISIBLE = (
    "(e.ended_us IS NULL OR e.level = 'critical')"
    " AND (e.ended_us IS NULL OR NOT EXISTS (SELECT 1 FROM acknowledgments WHERE episode = e.id))"
)


# The chair's present: episodes of its open session; those raised under the monitor limits
# (no session) since its last session ended, which may be the patient now in the chair; and
# any technical episode still open (a link down now is down now). Live views show nothing
# else, so an old session's episodes never shade today's chart or ring today's alarm.
CURRENT = """
    ((e.kind = 'technical' AND e.ended_us IS NULL)
     OR (e.session IS NOT NULL AND e.session =
         (SELECT id FROM sessions s WHERE s.chair = e.chair AND s.ended_us IS NULL))
     OR (e.session IS NULL AND e.started_us >= coalesce(
         (SELECT max(ended_us) FROM sessions s WHERE s.chair = e.chair), 0)))
"""


def visible_episodes(
    conn: sqlite3.Connection, chair: str | None = None, session: int | None = None
) -> pd.DataFrame:
    """What needs a nurse now: the chair's present episodes (see CURRENT) that are open, and
    its critical ones not yet acknowledged (latched); every chair's, or one chair's."""
    return _episode_frame(conn, [VISIBLE, CURRENT], [], chair, session)


def _episode_frame(
    conn: sqlite3.Connection, terms: list[str], values: list, chair: str | None, session: int | None
) -> pd.DataFrame:
    """EPISODE_SELECT where every term holds, of one chair and one session when given."""
    for column, value in (("chair", chair), ("session", session)):
        if value is not None:
            terms.append(f"e.{column} = ?")
            values.append(value)
    return read_frame(
        conn,
        f"{EPISODE_SELECT} WHERE {' AND '.join(terms)} ORDER BY e.started_us, e.id",
        tuple(values),
        **EPISODE_TIMES,
    )


def live_episodes(conn: sqlite3.Connection, chair: str) -> pd.DataFrame:
    """A chair's current episodes, open or ended, oldest first: the chair page's chart and list."""
    return _episode_frame(conn, [CURRENT], [], chair, None)


def open_engine_episodes(conn: sqlite3.Connection, chair: str) -> list[tuple[int | None, Episode]]:
    """(session, episode) of every open episode the alert engine owns on ``chair``: what a
    rebuilt engine must continue or end, never silently drop."""
    rows = conn.execute(
        "SELECT e.session, e.rule, e.kind, e.level, e.started_us, e.param, e.peak_value,"
        " e.peak_us, e.reason, e.triggers_json, e.rule_json FROM episodes e"
        " WHERE e.chair = ? AND e.ended_us IS NULL"
        " AND (e.kind = 'clinical' OR substr(e.rule, 1, 8) = 'invalid-'"
        " OR e.rule = 'nibp-overdue')",
        (chair,),
    ).fetchall()
    return [(row[0], _episode(row[1:])) for row in rows]


def _episode(row: tuple) -> Episode:
    rule, kind, level, started, param, peak, peak_us, reason, triggers, snapshot = row
    return Episode(
        rule=rule,
        kind=kind,
        level=Level.parse(level),
        started=from_us(started),
        param=Param(param) if param else None,
        peak_value=peak,
        peak_time=from_us(peak_us) if peak_us is not None else None,
        reason=reason,
        triggers=tuple(from_us(t) for t in json.loads(triggers)),
        rule_snapshot=json.loads(snapshot),
    )


def chair_heart_rate(conn: sqlite3.Connection, chair: str) -> HeartRateSources:
    """The chair's heart-rate sources, best first (the default for a chair never configured)."""
    row = conn.execute("SELECT heart_rate_json FROM chairs WHERE chair = ?", (chair,)).fetchone()
    if row is None:
        return HeartRateSources()
    spec = json.loads(row[0])
    return HeartRateSources.parse(spec["order"], spec["stale_s"])


def events(conn: sqlite3.Connection, session: int) -> pd.DataFrame:
    return read_frame(
        conn,
        'SELECT id, session, chair, t_us, kind, text, value, "by" FROM events'
        " WHERE session = ? ORDER BY t_us, id",
        (session,),
        time="t_us",
    )


def acknowledgments(conn: sqlite3.Connection, episode: int) -> pd.DataFrame:
    return read_frame(
        conn,
        'SELECT "by", t_us, comment, level_seen FROM acknowledgments WHERE episode = ?'
        " ORDER BY t_us, id",
        (episode,),
        time="t_us",
    )


def stored_readings(
    conn: sqlite3.Connection,
    chair: str,
    start: datetime,
    end: datetime | None = None,
    params: Collection[Param] | None = None,
) -> list[Reading]:
    """A chair's readings in ``[start, end)`` as Readings, oldest first, for replaying through
    the engine; ``params`` narrows them to the parameters a caller judges."""
    names = Names.of(conn)
    return [
        Reading(
            names.params[p],
            v,
            names.qualities[q],
            from_us(t + off) if off is not None else None,
            from_us(t),
            chair,
            names.sources[s],
        )
        for t, p, _, v, q, off, s in _window_rows(conn, chair, start, end, params)
    ]


ExportRow = tuple[int, Param, float | None, Quality, int | None, str]


def export_rows(
    conn: sqlite3.Connection,
    chair: str,
    start: datetime,
    end: datetime | None = None,
    valued_ok: bool = False,
) -> Iterator[ExportRow]:
    """A chair's readings in ``[start, end)``, oldest first, as they leave the cursor (a day is
    never held in memory): (t_us, param, value, quality, device_us, source)."""
    names = Names.of(conn)
    for t, p, _, v, q, off, s in _window_rows(conn, chair, start, end, valued_ok=valued_ok):
        yield (
            t,
            names.params[p],
            v,
            names.qualities[q],
            None if off is None else t + off,
            names.sources[s],
        )


def count_readings(
    conn: sqlite3.Connection,
    chair: str,
    start: datetime,
    end: datetime | None = None,
    valued_ok: bool = False,
) -> int:
    """How many rows ``export_rows`` will give, for an export's progress."""
    chair_key, param_keys = _keys(conn, chair, None)
    where = IN_RANGE.format(valued=VALUED_OK if valued_ok else "")
    bounds = (to_us(start), to_us(end) if end else 2**62)
    sql = "SELECT count(*) FROM readings WHERE " + where  # noqa: S608 (constant fragments)
    return sum(conn.execute(sql, (chair_key, k, *bounds)).fetchone()[0] for k in param_keys)


def last_session_end(conn: sqlite3.Connection, chair: str) -> datetime | None:
    (ended,) = conn.execute(
        "SELECT max(ended_us) FROM sessions WHERE chair = ?", (chair,)
    ).fetchone()
    return from_us(ended) if ended else None


def recent_values(
    conn: sqlite3.Connection, params: tuple[str, ...], since: datetime
) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Valid (t_us, value) per (chair, param) since ``since``, for sparklines.

    One range of the clustered key per pair, without pandas: the overview asks every second.
    """
    found: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for (chair,) in conn.execute("SELECT chair FROM chairs").fetchall():
        for param in params:
            found[(chair, param)] = conn.execute(
                "SELECT t_us, value FROM readings"
                " WHERE chair_key = (SELECT key FROM chair_keys WHERE chair = ?)"
                " AND param_key = (SELECT key FROM params WHERE param = ?) AND t_us >= ?"
                " AND quality_key = (SELECT key FROM qualities WHERE quality = 'ok')"
                " AND value IS NOT NULL ORDER BY t_us",
                (chair, param, to_us(since)),
            ).fetchall()
    return found
