"""Simulated scores look like the label's patients, and a demo session gets its whole course."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from chairside.simulated_scores import SimulatedScores
from simulators.scores import course_totals, draw_effects, phq9_answers
from tests.conftest import query
from vitals.chairs import Chair
from vitals.questionnaires import judge_course
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands


def test_sedation_and_dissociation_rates_are_the_labels() -> None:
    rng = random.Random(3)
    drawn = [draw_effects(rng) for _ in range(4000)]
    dissociated = sum(e.cadss(40) > 4 for e in drawn) / len(drawn)
    sedated = sum(e.moaas(40) < 5 for e in drawn) / len(drawn)
    assert 0.61 <= dissociated <= 0.75  # SPRAVATO label 5.2: 61-75 %
    assert 0.48 <= sedated <= 0.61  # SPRAVATO label 5.1: 48-61 %
    mild = sum(e.moaas(40) == 4 for e in drawn) / max(1, sum(e.moaas(40) < 5 for e in drawn))
    assert mild > 0.75  # mostly mild (MOAA/S 4)
    peaked = next(e for e in drawn if e.cadss_peak > 10)
    assert max(range(0, 121, 5), key=peaked.cadss) == 40  # dissociation peaks near 40 min
    assert peaked.cadss(0) == peaked.cadss(120) == 0 and peaked.moaas(120) == 5


def test_phq9_answers_and_a_responding_course() -> None:
    rng = random.Random(1)
    for total in (0, 9, 20, 24):
        answers = phq9_answers(rng, total)
        assert sum(answers) == total and answers[8] == 0 and max(answers) <= 3
    points = judge_course(course_totals(20, 5, 0.68))
    assert [p.response for p in points] == [False, False, True, True, True]
    assert points[-1].remission


def test_a_simulated_session_gets_its_phq9_scales_and_checklist(
    fresh_store: StoreWriter, db_path: Path
) -> None:
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    fresh_store.close()
    now = utc_now()
    session = commands.start_session(
        db_path, "c1", "SIM-0001", "esketamine-nasal", "simulator", dose_mg=56
    )
    scores = SimulatedScores(db_path, seed=1)
    scores.opened(session, "esketamine-nasal", "esketamine")
    scores.dosed(session, now - timedelta(minutes=41))
    scores.due(now)
    scores.due(now)  # asked every second: each score is logged once
    scores.ending(session)
    kinds = query(db_path, "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind")
    counted = dict(kinds)
    assert counted["phq9"] == 1 and counted["side-effects"] == 1
    assert (counted["sedation"], counted["dissociation"], counted["respiratory"]) == (2, 2, 2)
