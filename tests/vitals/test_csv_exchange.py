"""CSV export and import: a recording leaves and comes back identical, once."""

from datetime import timedelta
from pathlib import Path

import pytest

from chairside.cli import main
from simulators.offline import recorded_session
from tests.conftest import query
from vitals.chairs import Chair
from vitals.errors import ConfigError
from vitals.exchange.csv_io import read_readings_csv
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands

COLUMNS = "chair, t_us, device_us, param, value, unit, quality, source"


@pytest.fixture
def recorded(db_path: Path) -> int:
    now = utc_now()
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    writer.write_readings(
        recorded_session("c1", "hypertensive", 3, now - timedelta(minutes=50), 45 * 60)
    )
    writer.close()
    session = commands.start_session(
        db_path,
        "c1",
        "P-1",
        "iv-ketamine",
        "Nurse Ada",
        weight_kg=70,
        at=now - timedelta(minutes=45),
    )
    commands.add_event(
        db_path, session, "infusion-start", "Nurse Ada", at=now - timedelta(minutes=40)
    )
    commands.add_event(
        db_path, session, "note", "Nurse Ada", "calm", at=now - timedelta(minutes=20)
    )
    return session


def test_export_then_import_gives_back_the_same_readings(
    recorded: int, db_path: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "export"
    assert (
        main(["export", "--db", str(db_path), "--session", str(recorded), "--out", str(out)]) == 0
    )
    assert "events.csv: 3 rows" in capsys.readouterr().out  # session start, infusion, note
    copy = tmp_path / "copy.db"
    assert main(["import", "--db", str(copy), "--file", str(out / "readings.csv")]) == 0
    original = query(db_path, f"SELECT {COLUMNS} FROM readings ORDER BY t_us, param")
    session_start = query(db_path, "SELECT started_us FROM sessions")[0][0]
    in_session = [row for row in original if row[1] >= session_start]
    assert query(copy, f"SELECT {COLUMNS} FROM readings ORDER BY t_us, param") == in_session
    assert main(["import", "--db", str(copy), "--file", str(out / "readings.csv")]) == 0
    assert "0 readings imported" in capsys.readouterr().out.splitlines()[-1]
    assert query(copy, "SELECT count(*) FROM readings") == [(len(in_session),)]


def test_time_window_export_needs_a_chair_and_a_start(
    recorded: int, db_path: Path, tmp_path: Path, capsys
) -> None:
    assert main(["export", "--db", str(db_path), "--out", str(tmp_path)]) == 1
    assert "needs --session ID, or --chair C --from T" in capsys.readouterr().err
    start = (utc_now() - timedelta(minutes=10)).isoformat()
    assert (
        main(
            [
                "export",
                "--db",
                str(db_path),
                "--chair",
                "c1",
                "--from",
                start,
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert len(read_readings_csv(tmp_path / "readings.csv")) > 100


def test_bad_csv_rows_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "chair,time_utc,param,value,unit,quality\nc1,2026-03-01T09:00:00Z,hr,70,mmHg,ok\n"
    )
    with pytest.raises(ConfigError, match=r"r.csv:2: unit 'mmHg' for hr; expected 'bpm'"):
        read_readings_csv(path)
    path.write_text("chair,time,param\n")
    with pytest.raises(ConfigError, match="missing columns"):
        read_readings_csv(path)
    path.write_text(
        "chair,time_utc,param,value,unit,quality\nc1,2026-03-01T09:00:00,hr,70,bpm,ok\n"
    )
    with pytest.raises(ConfigError, match="no UTC offset"):
        read_readings_csv(path)
