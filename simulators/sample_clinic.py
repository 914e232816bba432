"""The committed sample: three weeks of a small clinic's ended sessions, made offline.

Review and Course work on a fresh clone from ``data/samples/clinic-sample.db``, and the demo
starts from a copy of it so it opens with history. The readings take the real encoder and
decoder path (``simulators.offline``), the alerts come from the same engine as live, and the
nurses' part (doses, scales, acknowledgments, ending the session) and the patient's (PHQ-9
before the dose, the side-effect checklist at the end) are written through the same commands
as the dashboard's, with scores drawn at the label's rates (``simulators.scores``).
``python -m simulators.sample_clinic`` rewrites the file; a test checks that the committed one
is what this module makes.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simulators.offline import recorded_session
from simulators.physiology import IV_INFUSION_S, PRE_DOSE_S, Baseline
from simulators.scenarios import scenario
from simulators.scores import course_totals, draw_effects, phq9_answers
from vitals.chairs import Chair
from vitals.engine import evaluate
from vitals.questionnaires import Phq9
from vitals.review import keep_summaries
from vitals.scales import protocol_scales
from vitals.store import StoreWriter, commands, connect_readonly, queries
from vitals.store.central import writing_as_site
from vitals.store.connection import Store
from vitals.store.measures import record_phq9, record_score, record_side_effects
from vitals.verdict import discharge_verdict, engine_inputs


def _sample_db() -> Path:
    """In a checkout the sample is ``data/samples/clinic-sample.db``; an installed wheel carries
    the same file as package data (``simulators/sample_data/``, see pyproject.toml)."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "data" / "samples" / "clinic-sample.db"
    return checkout if checkout.exists() else here / "sample_data" / "clinic-sample.db"


SAMPLE_DB = _sample_db()
FIRST_DAY = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)  # a Monday
INTERVAL_S = 30  # seconds between monitor records: a small file, still a readable trend
NURSES = ("Nurse Ada", "Nurse Ben")
CHAIRS = [Chair(f"chair-{n}", f"Chair {n}", f"/dev/ttyUSB{n - 1}", "ge-s5") for n in (1, 2, 3)]
# after the infusion ends / after the nasal dose: a little past each protocol's minimum
# observation, so the sessions end as a clinic's do, most of them ready for discharge
OBSERVED_MIN = {"iv": 95, "nasal": 125}


@dataclass(frozen=True)
class Patient:
    ref: str
    protocol: str
    baseline: Baseline
    weight_kg: float | None = None
    dose_mg: float | None = None


@dataclass(frozen=True)
class Planned:
    """One session of the sample: who, when, where, what the drug did, what the nurse noted."""

    patient: Patient
    day: int
    hour: float
    chair: str
    scenario: str
    symptoms: tuple[tuple[str, int], ...] = ()  # side effect (checklist), severity 1-3
    missed: int = 0  # its last alerts nobody acknowledged: what an auditor must find


IV = Patient("P-2041", "iv-ketamine", Baseline(128, 82, 76, 97.6), weight_kg=72)
NASAL = Patient("P-3310", "esketamine-nasal", Baseline(118, 74, 68, 98.0), dose_mg=56)
TACHY = Patient("P-1187", "iv-ketamine", Baseline(136, 86, 88, 97.2), weight_kg=91)
PLAN = (
    Planned(IV, 0, 0, "chair-1", "typical", (("Nausea", 1),)),
    Planned(NASAL, 1, 1, "chair-2", "esketamine", (("Dizziness", 1),)),
    Planned(TACHY, 2, 2, "chair-3", "tachycardia", (("Anxiety", 2),), missed=1),
    Planned(IV, 3, 0, "chair-1", "hypertensive", (("Headache", 2), ("Nausea", 1))),
    Planned(IV, 7, 0, "chair-1", "typical"),
    Planned(NASAL, 8, 1, "chair-2", "esketamine", (("Sleepiness", 1),)),
    Planned(TACHY, 9, 2, "chair-3", "typical"),
    Planned(IV, 10, 0, "chair-1", "typical"),
    Planned(IV, 14, 0, "chair-2", "typical"),
    Planned(NASAL, 15, 1, "chair-2", "esketamine"),
)
# first PHQ-9 (moderately severe to severe) and the share kept from session to session
PHQ9_COURSE = {"P-2041": (20, 0.68), "P-3310": (22, 0.85), "P-1187": (16, 0.8)}


def build_sample(db: Path) -> int:
    """Write the sample into a new database at ``db``; returns the number of sessions."""
    record_sample(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to commit
    conn.execute("VACUUM")
    conn.close()
    return len(PLAN)


def record_sample(db: Store, site: str = "") -> None:
    """Record the sample's sessions into the store ``db`` (a new SQLite file, or an empty
    PostgreSQL database: the central review's tests read the same sample from both). With a
    ``site`` the chairs have a central store's ids, ``"{site}/{chair}"``: the sample recorded
    for two sites is a group of clinics whose patients are seen at both."""
    rng = random.Random(7)
    central = (lambda chair: f"{site}/{chair}") if site else (lambda chair: chair)
    writer = StoreWriter(db)
    writer.write_chairs([dataclasses.replace(c, id=central(c.id)) for c in CHAIRS])
    writer.close()
    with writing_as_site():
        for seed, planned in enumerate(PLAN, start=1):
            _record(db, planned, central(planned.chair), seed, rng)


def _record(db: Store, planned: Planned, chair: str, seed: int, rng: random.Random) -> None:
    patient, nurse = planned.patient, NURSES[seed % 2]
    route = scenario(planned.scenario).route
    start = FIRST_DAY + timedelta(days=planned.day, hours=planned.hour)
    dose = start + timedelta(seconds=PRE_DOSE_S)
    end = dose + timedelta(minutes=OBSERVED_MIN[route])
    if route == "iv":
        end += timedelta(seconds=IV_INFUSION_S)
    readings = recorded_session(
        chair,
        planned.scenario,
        seed,
        start,
        int((end - start).total_seconds()),
        INTERVAL_S,
        baseline=patient.baseline,
    )
    writer = StoreWriter(db)
    writer.write_readings(readings)
    writer.close()
    session = commands.start_session(
        db,
        chair,
        patient.ref,
        patient.protocol,
        nurse,
        at=start,
        weight_kg=patient.weight_kg,
        dose_mg=patient.dose_mg,
    )
    if route == "iv":
        commands.add_event(db, session, "infusion-start", nurse, at=dose)
        stop = dose + timedelta(seconds=IV_INFUSION_S)
        commands.add_event(db, session, "infusion-stop", nurse, at=stop)
    else:
        commands.add_event(db, session, "dose", nurse, "nasal spray", patient.dose_mg, dose)
    _course_measures(db, session, planned, seed, nurse, start, dose, end)
    _alerts(db, session, readings, nurse, rng, planned.missed)
    conn = connect_readonly(db)
    verdict = discharge_verdict(conn, session, end)
    conn.close()
    commands.end_session(db, session, nurse, str(verdict), at=end)
    keep_summaries(db, [session])


def _course_measures(
    db: Store,
    session: int,
    planned: Planned,
    seed: int,
    nurse: str,
    start: datetime,
    dose: datetime,
    end: datetime,
) -> None:
    """PHQ-9 on the tablet before the dose, the protocol's scales at their times, the
    side-effect checklist before the end. A generator of its own, so the alerts' stay put."""
    rng = random.Random(1000 + seed)
    patient = f"patient (tablet; opened by {nurse})"
    ordinal = [p for p in PLAN if p.patient == planned.patient].index(planned)
    first, kept = PHQ9_COURSE[planned.patient.ref]
    totals = course_totals(first, ordinal + 1, kept)
    phq9 = Phq9(phq9_answers(rng, totals[ordinal]))
    record_phq9(db, session, phq9, patient, start + timedelta(minutes=2))
    effects = draw_effects(rng)
    score_of = {"sedation": effects.moaas, "dissociation": effects.cadss}
    for scale in protocol_scales(planned.patient.protocol):
        for minute in scale.minutes:
            at = dose + timedelta(minutes=minute - 1 if minute == 0 else minute + rng.randint(0, 3))
            value = score_of.get(scale.name, effects.respiratory)(minute)
            if at < end:
                record_score(db, session, scale.name, value, nurse, at)
    checklist = dict(planned.symptoms)
    record_side_effects(db, session, checklist, patient, end - timedelta(minutes=3))


def _alerts(
    db: Store, session_id: int, readings: list, nurse: str, rng: random.Random, missed: int
) -> None:
    """The episodes the live engine would have raised, answered a few minutes later but for
    the last ``missed`` ones."""
    conn = connect_readonly(db)
    session = queries.session_by_id(conn, session_id)
    inputs = engine_inputs(conn, session, session.chair)
    conn.close()
    episodes = evaluate(session.rules, readings, inputs.baselines, inputs.dose, inputs.heart_rate)
    writer = StoreWriter(db)
    writer.write_episodes(session.chair, session_id, episodes)
    writer.close()
    conn = connect_readonly(db)
    raised = queries.episodes(conn, session=session_id)
    conn.close()
    answered = raised[raised.level.isin(["warning", "critical"])]
    for episode in answered.iloc[: len(answered) - missed].itertuples():
        after = timedelta(seconds=rng.randint(40, 6 * 60))
        comment = "re-checked, physician informed" if episode.level == "critical" else ""
        commands.acknowledge(db, episode.id, nurse, comment, at=episode.started + after)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_DB, help=f"default {SAMPLE_DB.name}")
    args = parser.parse_args()
    args.out.unlink(missing_ok=True)
    sessions = build_sample(args.out)
    print(f"{sessions} sessions written to {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
