"""Weeks, months or a year of a clinic, generated straight into a store: for growth benchmarks
and for tests that need a store larger than the committed sample.

Every clinic day each chair runs sessions back to back for ``hours`` hours: the patient model
of ``simulators.physiology`` second by second (HR, pulse and SpO2 at 1 Hz, NIBP every 5 min),
patients on a course of repeated sessions, the nurse's part (dose, infusion, dissociation
scores, side effects, acknowledgments, ending with the discharge verdict) through the store's
commands, and the alert episodes from the same engine as live. The last session of every
chair is still open at ``end``, as in a clinic at work.

Unlike ``sample_clinic``, readings do not take the wire protocols: at a year, encoding and
decoding would cost more than everything else. They are stored as the recorder stores what a
monitor sends: the monitor's whole-second clock as device time, received 20-250 ms later,
judged for plausibility, written in time order across the chairs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from simulators.physiology import IV_INFUSION_S, PRE_DOSE_S, Baseline, PatientModel
from simulators.scenarios import scenario
from vitals.baseline import compute_baselines
from vitals.chairs import Chair
from vitals.clinical import load_protocol
from vitals.device_state import DeviceState, LinkState
from vitals.engine import evaluate
from vitals.plausibility import assess
from vitals.reading import Param, Quality, Reading, utc_now
from vitals.review import keep_summaries
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.store.central import writing_as_site
from vitals.times import to_us
from vitals.verdict import discharge_verdict

SOURCE = "ge-s5"
NURSES = ("Nurse Ada", "Nurse Ben", "Nurse Cy")
TURNOVER_S = 5 * 60  # the next patient is on the monitor this long before the session opens
OBSERVED_S = {"iv": 50 * 60, "nasal": 120 * 60}  # after the infusion ends / the nasal dose
IV_SCENARIOS = {
    "typical": 74,
    "hypertensive": 8,
    "tachycardia": 7,
    "desaturation": 6,
    "bradycardia": 5,
}
WRITE_BATCH = 20_000
UNANSWERED = 0.05  # share of warning and critical alarms nobody acknowledges


@dataclass(frozen=True)
class HistorySpec:
    days: int  # clinic days (Monday to Friday), the last one ending at ``end``
    chairs: int = 8
    hours: float = 8
    seed: int = 1
    site: str = ""  # chair ids "{site}/chair-N" and patients its own, as a central store holds
    end: datetime = field(default_factory=lambda: utc_now().replace(microsecond=0))


@dataclass
class Patient:
    ref: str
    route: str
    baseline: Baseline
    course: int  # sessions in this patient's course
    weight_kg: float | None = None
    dose_mg: float | None = None
    visits: int = 0
    last_day: int = -99

    @property
    def protocol(self) -> str:
        return "iv-ketamine" if self.route == "iv" else "esketamine-nasal"


@dataclass(frozen=True)
class Visit:
    """One planned session: the monitor runs from ``slot`` (the patient is being settled)."""

    chair: str
    patient: Patient
    scenario: str
    slot: datetime
    start: datetime
    dose: datetime
    end: datetime
    seed: int


@dataclass
class Counts:
    readings: int = 0
    sessions: int = 0
    episodes: int = 0


def build_history(
    db: Path, spec: HistorySpec, on_day: Callable[[int, Counts], None] | None = None
) -> Counts:
    """Write the history into ``db`` (new or existing); returns what was written. With a
    site, the record is written as that site's forwarding would (``writing_as_site``)."""
    rng = random.Random(spec.seed)
    qualified = f"{spec.site}/" if spec.site else ""
    chairs = [
        Chair(f"{qualified}chair-{n}", f"Chair {n}", f"/dev/ttyUSB{n - 1}", SOURCE)
        for n in range(1, spec.chairs + 1)
    ]
    writer = StoreWriter(db)
    writer.write_chairs(chairs)
    patients = _Patients(rng, spec.site)
    counts = Counts()
    try:
        for index, day_start in enumerate(_clinic_days(spec)):
            day_end = min(day_start + timedelta(hours=spec.hours), spec.end)
            last = day_end >= spec.end
            visits = [
                visit
                for chair in chairs
                for visit in _plan(chair.id, day_start, day_end, index, patients, rng, last)
            ]
            monitored = _write_readings(writer, visits, spec.end, rng, counts)
            for visit, readings in sorted(
                zip(visits, monitored, strict=True), key=lambda pair: pair[0].start
            ):
                with writing_as_site():
                    _record_session(db, writer, visit, readings, spec.end, rng, counts)
            if on_day:
                on_day(index, counts)
        now_us = to_us(spec.end)
        for chair in chairs:
            state = DeviceState(chair.id, LinkState.CONNECTED, spec.end, last_data=spec.end)
            writer.write_device_state(state, now_us)
        writer.beat(now_us, now_us, stopped=True)
    finally:
        writer.close()
    return counts


def _clinic_days(spec: HistorySpec) -> list[datetime]:
    """Start of each clinic day: the last one ends at ``spec.end`` (the clinic is at work,
    whatever the weekday), the ones before it are weekdays."""
    day = spec.end - timedelta(hours=spec.hours)
    days = [day]
    while len(days) < spec.days:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


class _Patients:
    """Patients on courses of sessions, each back no sooner than two days later."""

    def __init__(self, rng: random.Random, site: str = "") -> None:
        self.rng, self.active, self.made = rng, [], 0
        self.prefix = f"{site}-" if site else ""  # each site its own patients

    def next(self, day: int) -> Patient:
        ready = [p for p in self.active if day - p.last_day >= 2]
        return self.rng.choice(ready) if ready and self.rng.random() < 0.85 else self._new()

    def seen(self, patient: Patient, day: int) -> None:
        patient.visits, patient.last_day = patient.visits + 1, day
        if patient.visits >= patient.course:
            self.active.remove(patient)

    def _new(self) -> Patient:
        r = self.rng
        self.made += 1
        route = "iv" if r.random() < 0.65 else "nasal"
        sbp = min(150.0, max(105.0, r.gauss(124, 10)))
        baseline = Baseline(sbp, min(92.0, max(60.0, sbp - r.gauss(45, 6))), r.gauss(74, 8), 97.5)
        patient = Patient(
            f"P-{self.prefix}{self.made:05d}",
            route,
            baseline,
            course=r.randint(6, 30),
            weight_kg=round(r.uniform(50, 110)) if route == "iv" else None,
            dose_mg=r.choice((56.0, 84.0)) if route == "nasal" else None,
        )
        self.active.append(patient)
        return patient


def _plan(
    chair: str,
    day_start: datetime,
    day_end: datetime,
    day: int,
    patients: _Patients,
    rng: random.Random,
    last_day: bool,
) -> list[Visit]:
    """Sessions back to back from the morning while they fit the day; on the last day the
    one running at its end is kept (it stays open)."""
    visits, slot = [], day_start
    while True:
        patient = patients.next(day)
        start = slot + timedelta(seconds=TURNOVER_S)
        dose = start + timedelta(seconds=PRE_DOSE_S)
        length = OBSERVED_S[patient.route] + (IV_INFUSION_S if patient.route == "iv" else 0)
        end = dose + timedelta(seconds=length)
        if end > day_end and not (last_day and start < day_end):
            return visits
        name = (
            rng.choices(list(IV_SCENARIOS), list(IV_SCENARIOS.values()))[0]
            if patient.route == "iv"
            else "esketamine"
        )
        visits.append(Visit(chair, patient, name, slot, start, dose, end, rng.randrange(2**31)))
        patients.seen(patient, day)
        if end > day_end:
            return visits
        slot = end


def _write_readings(
    writer: StoreWriter, visits: list[Visit], until: datetime, rng: random.Random, counts: Counts
) -> list[list[Reading]]:
    """The day's readings of every chair, written in the order the recorder would commit
    them; returned per visit."""
    per_visit = [_monitor(v, min(v.end, until), rng) for v in visits]
    readings = sorted((r for rs in per_visit for r in rs), key=lambda r: r.time)
    for begin in range(0, len(readings), WRITE_BATCH):
        writer.write_readings(readings[begin : begin + WRITE_BATCH])
    counts.readings += len(readings)
    return per_visit


def _monitor(visit: Visit, until: datetime, rng: random.Random) -> list[Reading]:
    """What the chair's monitor sends from ``visit.slot`` to ``until``, second by second."""
    model = PatientModel(scenario(visit.scenario), visit.seed, baseline=visit.patient.baseline)
    model.dose_at_s = int((visit.dose - visit.slot).total_seconds())
    out: list[Reading] = []
    chair, ok = visit.chair, Quality.OK
    for second in range(int((until - visit.slot).total_seconds())):
        measured = model.step()
        device = visit.slot + timedelta(seconds=second)
        at = device + timedelta(microseconds=rng.randint(20_000, 250_000))
        batch = [
            Reading(Param.HR, model.hr, ok, device, at, chair, SOURCE),
            Reading(Param.PULSE, model.pulse, ok, device, at, chair, SOURCE),
            Reading(Param.SPO2, model.spo2, ok, device, at, chair, SOURCE),
        ]
        if measured:
            for param, value in zip((Param.SBP, Param.DBP, Param.MAP), model.nibp, strict=True):
                quality = ok if value is not None else Quality.INVALID
                batch.append(Reading(param, value, quality, device, at, chair, SOURCE))
        out += assess(batch)
    return out


def _record_session(
    db: Path,
    writer: StoreWriter,
    visit: Visit,
    readings: list[Reading],
    until: datetime,
    rng: random.Random,
    counts: Counts,
) -> None:
    """The nurse's part and the alerts of one visit; ended with its verdict unless still on."""
    patient, nurse = visit.patient, rng.choice(NURSES)
    session = commands.start_session(
        db,
        visit.chair,
        patient.ref,
        patient.protocol,
        nurse,
        at=visit.start,
        weight_kg=patient.weight_kg,
        dose_mg=patient.dose_mg,
    )
    counts.sessions += 1
    _events(db, session, visit, nurse, until, rng)
    end = min(visit.end, until)
    counts.episodes += _alerts(db, writer, session, readings, nurse, end, rng)
    if visit.end > until:
        return
    conn = connect_readonly(db)
    try:
        verdict = discharge_verdict(conn, session, visit.end)
    finally:
        conn.close()
    # as the recorder does when it sees the session end: what is still open ends with it
    writer.close_engine_episodes(visit.chair, to_us(visit.end), "session ended")
    commands.end_session(db, session, nurse, str(verdict), at=visit.end)
    keep_summaries(db, [session])


def _events(
    db: Path, session: int, visit: Visit, nurse: str, until: datetime, rng: random.Random
) -> None:
    dose, events = visit.dose, []
    if visit.patient.route == "iv":
        events += [(dose, "infusion-start", "", None)]
        events += [(dose + timedelta(seconds=IV_INFUSION_S), "infusion-stop", "", None)]
    else:
        events += [(dose, "dose", "nasal spray", visit.patient.dose_mg)]
    for minutes in (20, 40):
        score = float(rng.randint(6, 32))
        events.append((dose + timedelta(minutes=minutes), "dissociation", "CADSS", score))
    if rng.random() < 0.35:
        symptom = rng.choice(("nausea", "dizziness", "headache", "anxiety", "dysgeusia"))
        events.append((dose + timedelta(minutes=25), "symptom", symptom, float(rng.randint(1, 6))))
    if rng.random() < 0.1:
        events.append((dose + timedelta(minutes=30), "note", "resting, eyes closed", None))
    for at, kind, text, value in events:
        if at <= until:
            commands.add_event(db, session, kind, nurse, text, value, at)


def _alerts(
    db: Path,
    writer: StoreWriter,
    session_id: int,
    readings: list[Reading],
    nurse: str,
    end: datetime,
    rng: random.Random,
) -> int:
    """The episodes the live engine raises over the monitor's stream (the same baselines as
    ``session_baselines`` finds in the store), most warnings and criticals acknowledged."""
    conn = connect_readonly(db)
    try:
        session = queries.session_by_id(conn, session_id)
    finally:
        conn.close()
    spec = load_protocol(session.protocol).baseline
    baselines = {}
    if spec is not None and session.dose_time is not None:
        found = compute_baselines(spec, readings, session.dose_time)
        baselines = {p: b.value for p, b in found.items() if b.value is not None}
    watched = [r for r in readings if r.time >= session.started]
    episodes = evaluate(session.rules, watched, baselines, session.dose_time)
    writer.write_episodes(session.chair, session_id, episodes)
    conn = connect_readonly(db)
    try:
        raised = queries.episodes(conn, session=session_id)
    finally:
        conn.close()
    for episode in raised[raised.level.isin(["warning", "critical"])].itertuples():
        at = episode.started + timedelta(seconds=rng.randint(40, 360))
        if rng.random() >= UNANSWERED and at <= end:
            commands.acknowledge(db, int(episode.id), nurse, "", at=at)
    return len(episodes)
