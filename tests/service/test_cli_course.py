"""``session event`` for the course's kinds: scores checked against the protocol's scales."""

from __future__ import annotations

from pathlib import Path

from chairside.cli import main
from tests.conftest import query
from vitals.chairs import Chair
from vitals.store import StoreWriter, commands


def test_scores_and_a_phq9_from_the_command_line(
    fresh_store: StoreWriter, db_path: Path, capsys, nurse_ada: list[str]
) -> None:
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    fresh_store.close()
    commands.start_session(db_path, "c1", "P-1", "esketamine-nasal", "Nurse Ada", dose_mg=84)
    event = ["session", "event", "--db", str(db_path), "--chair", "c1", *nurse_ada]
    assert main([*event, "--kind", "sedation", "--value", "3"]) == 0
    assert "MOAA/S 3 - responds only after name is called loudly" in capsys.readouterr().out
    assert main([*event, "--kind", "phq9", "--text", "1 1 2 0 1 0 0 1 0"]) == 0
    assert "PHQ-9 total 6 (mild)" in capsys.readouterr().out
    assert main([*event, "--kind", "sedation", "--value", "9"]) == 1
    assert "outside 0-5" in capsys.readouterr().err
    assert main([*event, "--kind", "phq9", "--text", "1 2"]) == 1
    stored = query(db_path, "SELECT kind, value FROM events WHERE kind IN ('sedation', 'phq9')")
    assert stored == [("sedation", 3.0), ("phq9", 6.0)]
