"""The session's monitoring record: the SPRAVATO REMS Patient Monitoring Form, answered from
the store wherever monitoring data can answer it, with the readings or scores behind each
answer, and every other field marked for the nurse.

Chairside prepares the form; it never submits it (the REMS takes it online or by fax within
7 days of the session). The form's fields, as the REMS publishes them: patient identity and
concomitant sedating or BP-raising medication (benzodiazepines, non-benzodiazepine sedative
hypnotics, psychostimulants, MAOIs); the provider and setting; treatment date, dose (56, 84 mg
or other) and lot number; total time from the first device administration to the completion
of monitoring (at least 2 hours); when the patient would have been ready to leave without the
2-hour rule; vital signs in an acceptable range before administration and before completion;
BP before administration, 40 minutes after it and before completion; and whether the patient
experienced sedation, dissociation or respiratory depression.

Reuses the clinical answers rather than recomputing them: the discharge verdict
(``Verdict.ready_after_min``) and the session's BPs, baselines and alarms from
``vitals.verdict``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

from vitals.baseline import Baseline
from vitals.clinical import DischargeCriteria, load_protocol
from vitals.discharge import Alarm, BloodPressure, Verdict
from vitals.errors import ConfigError
from vitals.lazy import lazy
from vitals.reading import Param, Quality, Reading
from vitals.scales import RespiratoryDepression, Scale, protocol_scales, respiratory_depression_rule
from vitals.sessions import Session
from vitals.store import queries
from vitals.store.measures import param_readings
from vitals.verdict import blood_pressures, discharge_verdict, session_alarms, session_baselines

pd = lazy("pandas")

PEAK_CHECK_MIN = 40  # the form's "40 mins post-administration"
FOR_NURSE = "for the nurse"
SHOWN_RUNS = 3  # desaturations named on the one-page form; the rest are counted
SCALE_QUESTIONS = {
    "sedation": "Did the patient experience sedation?",
    "dissociation": "Did the patient experience dissociation?",
}


@dataclass(frozen=True)
class Answer:
    """One field of the form: the answer and what it rests on, or a field for the nurse."""

    section: str
    question: str
    answer: str = ""
    evidence: str = ""
    time: datetime | None = None
    minutes_from_dose: float | None = None

    @property
    def for_nurse(self) -> bool:
        return self.answer == ""


@dataclass(frozen=True)
class MonitoringRecord:
    session: int
    patient: str
    chair: str
    protocol: str
    dose_time: datetime | None
    end: datetime
    ended: bool
    answers: tuple[Answer, ...] = field(default_factory=tuple)
    zone: tzinfo | None = None  # the clock its times are on; None: UTC

    def answer(self, question_start: str) -> Answer:
        """The field whose question starts with ``question_start`` (for tests and callers)."""
        return next(a for a in self.answers if a.question.startswith(question_start))


@dataclass(frozen=True)
class Score:
    """A nurse-rated score as the record sees it."""

    scale: str
    value: float
    time: datetime
    by: str


@dataclass(frozen=True)
class RecordInputs:
    """Everything the record is answered from: plain data, so it is tested without a store."""

    session: Session
    end: datetime
    ended: bool
    bp: Sequence[BloodPressure]  # valid cuff results from the session's start to its end
    spo2: Sequence[Reading]  # SpO2 readings of the session, any quality
    baselines: Mapping[Param, Baseline]
    alarms: Sequence[Alarm]
    verdict: Verdict
    scores: Sequence[Score]
    medications: Sequence[tuple[datetime, str, str]]  # (time, what, by) logged in the session
    scales: Sequence[Scale]
    criteria: DischargeCriteria | None
    respiratory: RespiratoryDepression | None
    zone: tzinfo | None = None  # the clinic's, for people; None: UTC, said so (data exports)


def monitoring_record(
    conn: sqlite3.Connection, session_id: int, now: datetime, zone: tzinfo | None = None
) -> MonitoringRecord:
    """The record of a session from the store (an open session is answered as of ``now``),
    its times on the clinic's clock in ``zone`` (the form a nurse copies), else in UTC."""
    return build_record(replace(record_inputs(conn, session_id, now), zone=zone))


def record_inputs(conn: sqlite3.Connection, session_id: int, now: datetime) -> RecordInputs:
    """What the record is answered from, read once: the same inputs build the form on the
    clinic's clock and its data in UTC (``build_record`` with another ``zone``)."""
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ConfigError(f"no session {session_id}")
    end = session.ended or now
    readings = param_readings(
        conn, session.chair, (Param.SBP, Param.DBP, Param.SPO2), session.started, end
    )
    events = queries.events(conn, session.id)
    protocol = load_protocol(session.protocol)
    return RecordInputs(
        session=session,
        end=end,
        ended=session.ended is not None,
        bp=blood_pressures(readings),
        spo2=[r for r in readings if r.param is Param.SPO2],
        baselines=session_baselines(conn, session),
        alarms=session_alarms(conn, session),
        verdict=discharge_verdict(conn, session.id, end + _INCLUSIVE),
        scores=_scores(events),
        medications=[
            (t.to_pydatetime(), text, by)
            for t, text, by in zip(
                *(events[events.kind == "medication"][c] for c in ("time", "text", "by")),
                strict=True,
            )
        ],
        scales=protocol_scales(session.protocol),
        criteria=protocol.discharge,
        respiratory=respiratory_depression_rule(session.protocol),
    )


_INCLUSIVE = timedelta(microseconds=1)  # readings are asked for in [start, end): keep the end


def _scores(events: pd.DataFrame) -> list[Score]:
    scored = events[events.kind.isin(["sedation", "dissociation", "respiratory"])]
    return [
        Score(kind, float(value), time.to_pydatetime(), by)
        for kind, value, time, by in zip(
            scored.kind, scored.value, scored.time, scored.by, strict=True
        )
        if not pd.isna(value)
    ]


def build_record(i: RecordInputs) -> MonitoringRecord:
    """Every field of the form, in the form's order."""
    s = i.session
    answers = [
        *_identity(s),
        *_concomitant(i.medications, i.zone),
        Answer(
            "Provider",
            "Healthcare provider conducting monitoring (name, telephone, email)",
            evidence=_people(s),
        ),
        Answer("Setting", "Healthcare setting (name, address)"),
        *_treatment(s, i),
        *_vital_ranges(i),
        *_blood_pressures(i),
        *(
            _scale_answer(scale, i.scores, s.dose_time, i.zone)
            for scale in i.scales
            if scale.name in SCALE_QUESTIONS
        ),
        _respiratory(i),
    ]
    return MonitoringRecord(
        s.id, s.patient, s.chair, s.protocol, s.dose_time, i.end, i.ended, tuple(answers), i.zone
    )


def _identity(s: Session) -> list[Answer]:
    note = f"Chairside keeps only the pseudonymous reference {s.patient}"
    return [
        Answer("Patient", "Patient first name, last name, birthdate and sex", evidence=note),
    ]


def _concomitant(
    medications: Sequence[tuple[datetime, str, str]], zone: tzinfo | None
) -> list[Answer]:
    logged = "; ".join(f"{text} at {_clock(t, zone)} ({by})" for t, text, by in medications)
    evidence = (
        f"medication logged in the session: {logged}"
        if logged
        else ("no medication logged in the session")
    )
    return [
        Answer(
            "Concomitant medication",
            "Currently taking benzodiazepines, non-benzodiazepine sedative hypnotics, "
            "psychostimulants or MAOIs?",
            evidence=evidence,
        )
    ]


def _people(s: Session) -> str:
    names = dict.fromkeys(n for n in (s.started_by, s.dosed_by) if n)
    return "session opened or dosed by " + ", ".join(names) if names else ""


def _minutes(t: datetime | None, dose: datetime | None) -> float | None:
    if t is None or dose is None:
        return None
    return round((t - dose).total_seconds() / 60, 1)


def _treatment(s: Session, i: RecordInputs) -> list[Answer]:
    dose = s.dose_time
    if dose is None:
        return [Answer("Treatment", "Treatment date, dose, duration", evidence="no dose logged")]
    mg = s.dose_mg
    dose_text = "" if mg is None else (f"{mg:g} mg" if mg in (56, 84) else f"other: {mg:g} mg")
    total = _minutes(i.end, dose)
    short = i.criteria is not None and total < i.criteria.min_minutes_after_dose
    total_note = ("session still open; " if not i.ended else "") + (
        f"below the {i.criteria.min_minutes_after_dose:g}-min minimum" if short else ""
    )
    return [
        Answer(
            "Treatment",
            "Treatment date (MM/DD/YYYY)",
            f"{dose.astimezone(i.zone or UTC):%m/%d/%Y}",
            "date of the dose, " + ("the clinic's date" if i.zone else "UTC"),
            dose,
            0.0,
        ),
        Answer(
            "Treatment",
            "Dose administered",
            dose_text,
            f"logged by {s.dosed_by} at {_clock(dose, i.zone)}" if s.dosed_by else "",
            dose,
            0.0,
        ),
        Answer("Treatment", "Lot number"),
        Answer(
            "Treatment",
            "Total time (minutes from first device administration to completion of monitoring)",
            f"{total:.0f}" if i.ended else "",
            f"dose {_clock(dose, i.zone)} to end {_clock(i.end, i.zone)}"
            + (f"; {total_note}" if total_note else ""),
            i.end,
            total,
        ),
        _ready(i),
    ]


def _ready(i: RecordInputs) -> Answer:
    question = (
        "REMS evaluation: without the 2-hour minimum, when would the patient have been "
        "ready to leave (minutes from start of administration)?"
    )
    minutes = i.verdict.ready_after_min
    if minutes is None:
        return Answer(
            "REMS evaluation",
            question,
            evidence="not ready by the end: " + "; ".join(i.verdict.unmet),
        )
    return Answer(
        "REMS evaluation",
        question,
        f"{minutes:.0f}",
        "first moment every discharge condition but the minimum observation held",
        i.verdict.would_have_been_ready,
        round(minutes, 1),
    )


def _vital_ranges(i: RecordInputs) -> list[Answer]:
    dose = i.session.dose_time
    if dose is None or i.criteria is None:
        return []
    before = [b for b in i.bp if b.time <= dose]
    after = [b for b in i.bp if b.time > dose]
    return [
        _in_range("prior to administration?", before[-1] if before else None, dose, i),
        _in_range("prior to treatment session completion?", after[-1] if after else None, i.end, i),
    ]


def _in_range(when: str, bp: BloodPressure | None, at: datetime, i: RecordInputs) -> Answer:
    """BP not above the label's 140/90 guide nor, after the dose, more than the discharge
    margin above baseline; SpO2 not below the respiratory line; no alarm waiting for a nurse."""
    question = f"Vital signs in acceptable range {when}"
    if bp is None:
        return Answer("Vital signs", question, evidence="no BP in the record")
    c, problems = i.criteria, []
    if not _bp_acceptable(bp, c, i.baselines, before_dose=at == i.session.dose_time):
        problems.append(f"BP {bp.sbp:g}/{bp.dbp:g}")
    spo2 = [r for r in i.spo2 if r.time <= at and r.quality is Quality.OK and r.value is not None]
    if spo2 and i.respiratory and spo2[-1].value < i.respiratory.spo2_below:
        problems.append(f"SpO2 {spo2[-1].value:g} %")
    waiting = sorted({a.name for a in i.alarms if a.waiting(at)})
    if waiting:
        problems.append("alerts waiting: " + ", ".join(waiting))
    shown = f"BP {bp.sbp:g}/{bp.dbp:g} at {_clock(bp.time, i.zone)}" + (
        f", SpO2 {spo2[-1].value:g} %" if spo2 else ""
    )
    return Answer(
        "Vital signs",
        question,
        "No" if problems else "Yes",
        shown + ("; out of range: " + "; ".join(problems) if problems else ""),
        bp.time,
        _minutes(bp.time, i.session.dose_time),
    )


def _bp_acceptable(
    bp: BloodPressure, c: DischargeCriteria, baselines: Mapping[Param, Baseline], before_dose: bool
) -> bool:
    if bp.sbp <= c.sbp_max and bp.dbp <= c.dbp_max:
        return True
    if before_dose:
        return False
    margin = 1 + c.within_baseline_pct / 100
    limits = {p: b.value * margin for p, b in baselines.items() if b.value is not None}
    return bp.sbp <= limits.get(Param.SBP, c.sbp_max) and bp.dbp <= limits.get(Param.DBP, c.dbp_max)


def _blood_pressures(i: RecordInputs) -> list[Answer]:
    dose = i.session.dose_time
    if dose is None:
        return []
    before = [b for b in i.bp if b.time <= dose]
    after = [b for b in i.bp if b.time > dose]
    peak = dose + timedelta(minutes=PEAK_CHECK_MIN)
    nearest = min(after, key=lambda b: abs(b.time - peak)) if after else None
    entered = i.baselines.get(Param.SBP)
    pre = _bp_answer("prior to administration", before[-1] if before else None, dose, i.zone)
    if pre.for_nurse and entered is not None and entered.source == "entered by hand":
        pre = Answer(pre.section, pre.question, evidence=f"SBP {entered.value:g} entered by hand")
    return [
        pre,
        _bp_answer(
            f"{PEAK_CHECK_MIN} min post-administration",
            nearest,
            dose,
            i.zone,
            "nearest to +40 min",
        ),
        _bp_answer(
            "prior to treatment session completion",
            after[-1] if after else None,
            dose,
            i.zone,
            "last BP of the session",
        ),
    ]


def _bp_answer(
    when: str, bp: BloodPressure | None, dose: datetime, zone: tzinfo | None, why: str = ""
) -> Answer:
    question = f"Blood pressure {when} (mmHg)"
    if bp is None:
        return Answer("Blood pressure", question, evidence="no BP in the record")
    minutes = _minutes(bp.time, dose)
    evidence = f"taken {_clock(bp.time, zone, seconds=True)} ({minutes:+.0f} min)" + (
        f", {why}" if why else ""
    )
    return Answer("Blood pressure", question, f"{bp.sbp:g}/{bp.dbp:g}", evidence, bp.time, minutes)


def _scale_answer(
    scale: Scale, scores: Sequence[Score], dose: datetime | None, zone: tzinfo | None
) -> Answer:
    question = SCALE_QUESTIONS[scale.name]
    mine = sorted((s for s in scores if s.scale == scale.name), key=lambda s: s.time)
    if not mine:
        return Answer("Adverse effects", question, evidence=f"no {scale.instrument} score recorded")
    present = [s for s in mine if scale.present(s.value)]
    listed = ", ".join(f"{s.value:g} at {_at(s.time, dose, zone)}" for s in mine)
    first = present[0] if present else None
    return Answer(
        "Adverse effects",
        question,
        "Yes" if present else "No",
        f"{scale.instrument} {listed}",
        first.time if first else None,
        _minutes(first.time, dose) if first else None,
    )


def _at(t: datetime, dose: datetime | None, zone: tzinfo | None) -> str:
    minutes = _minutes(t, dose)
    return _clock(t, zone) + ("" if minutes is None else f" ({minutes:+.0f} min)")


def _clock(t: datetime, zone: tzinfo | None, seconds: bool = False) -> str:
    """A time as the record states it: on the clinic's clock for the form a nurse copies,
    in UTC and said so for the data export."""
    shown = t.astimezone(zone or UTC).strftime("%H:%M:%S" if seconds else "%H:%M")
    return shown if zone else f"{shown} UTC"


def desaturations(
    spo2: Sequence[Reading], rule: RespiratoryDepression
) -> list[tuple[datetime, float, float]]:
    """(start, seconds, lowest) of every run of valid SpO2 below the line held at least
    ``for_s``: a run lasts from its first low reading to the first valid reading not low."""
    found, start, lowest, last = [], None, 0.0, None
    for r in spo2:
        if r.quality is not Quality.OK or r.value is None:
            continue
        if r.value < rule.spo2_below:
            start, lowest = (r.time, r.value) if start is None else (start, min(lowest, r.value))
        elif start is not None:
            found.append((start, (r.time - start).total_seconds(), lowest))
            start = None
        last = r.time
    if start is not None and last is not None:
        found.append((start, (last - start).total_seconds(), lowest))
    return [run for run in found if run[1] >= rule.for_s]


def _respiratory(i: RecordInputs) -> Answer:
    question = "Did the patient experience respiratory depression?"
    dose = i.session.dose_time
    scale = next((s for s in i.scales if s.name == "respiratory"), None)
    rated = sorted((s for s in i.scores if s.scale == "respiratory"), key=lambda s: s.time)
    runs = desaturations(i.spo2, i.respiratory) if i.respiratory else []
    valid = any(r.quality is Quality.OK for r in i.spo2)
    if not rated and not valid:
        return Answer("Adverse effects", question, evidence="no SpO2 and no respiratory rating")
    evidence = [
        f"SpO2 below {i.respiratory.spo2_below:g} % for {sec:.0f} s from {_at(t, dose, i.zone)}, "
        f"lowest {low:g} %"
        for t, sec, low in runs[:SHOWN_RUNS]
    ]
    if len(runs) > SHOWN_RUNS:
        evidence.append(f"and {len(runs) - SHOWN_RUNS} more such periods")
    if rated:
        evidence.append(
            "respiratory status "
            + ", ".join(f"{s.value:g} at {_at(s.time, dose, i.zone)}" for s in rated)
        )
    rated_yes = [s.time for s in rated if scale is not None and scale.present(s.value)]
    times = sorted([t for t, _, _ in runs] + rated_yes)
    if not times and i.respiratory and valid:
        evidence.insert(
            0, f"SpO2 never below {i.respiratory.spo2_below:g} % for {i.respiratory.for_s:g} s"
        )
    first = times[0] if times else None
    return Answer(
        "Adverse effects",
        question,
        "Yes" if times else "No",
        "; ".join(evidence),
        first,
        _minutes(first, dose),
    )
