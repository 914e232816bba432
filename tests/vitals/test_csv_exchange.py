"""CSV export and import: a recording leaves and comes back identical, once."""

import csv
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from chairside.cli import main
from simulators.offline import recorded_session
from tests.conftest import query
from vitals.chairs import Chair
from vitals.errors import ConfigError
from vitals.exchange.csv_io import read_readings_csv, spreadsheet_safe
from vitals.nurse_tokens import TOKEN_ENV, create_token
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands
from vitals.times import iso_utc
from vitals.users import add_user

COLUMNS = "chair, t_us, device_us, param, value, unit, quality, source"


IMPORT = ["import", "--by", "Nurse Ada"]  # her credentials: the token of ``nurse``


@pytest.fixture(autouse=True)
def nurse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nurse Ada, with a token she created, as importing needs her credentials."""
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "correct horse")
    monkeypatch.setattr("chairside.cli_identity.DEFAULT_USERS", users)
    monkeypatch.setenv(TOKEN_ENV, create_token(users, "Nurse Ada", "correct horse"))


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
    printed = capsys.readouterr()
    assert "events.csv: 3 entries" in printed.out  # session start, infusion, note
    steps = [line for line in printed.err.splitlines() if line.startswith("readings.csv: ")]
    assert steps[0].startswith("readings.csv: 0 % (0 of ") and len(steps) == 11
    assert steps[-1].startswith("readings.csv: 100 % (")
    copy = tmp_path / "copy.db"
    assert main([*IMPORT, "--db", str(copy), "--file", str(out / "readings.csv")]) == 0
    original = query(db_path, f"SELECT {COLUMNS} FROM readings_full ORDER BY t_us, param")
    session_start = query(db_path, "SELECT started_us FROM sessions")[0][0]
    in_session = [(*row[:7], f"import:{row[7]}") for row in original if row[1] >= session_start]
    assert query(copy, f"SELECT {COLUMNS} FROM readings_full ORDER BY t_us, param") == in_session
    assert query(copy, "SELECT kind, by, session FROM events") == [("import", "Nurse Ada", None)]
    assert main([*IMPORT, "--db", str(copy), "--file", str(out / "readings.csv")]) == 0
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


def test_hl7_and_fhir_exports_parse_back_to_the_same_values(
    recorded: int, db_path: Path, tmp_path: Path
) -> None:
    import json

    import hl7
    from fhir.resources.R4B.bundle import Bundle

    expected = sorted(
        (param, value)
        for param, value in query(
            db_path,
            "SELECT param, value FROM readings_full WHERE quality = 'ok' AND value IS NOT NULL"
            " AND t_us >= (SELECT started_us FROM sessions)",
        )
    )
    loinc = {
        "8867-4": "hr",
        "8889-8": "pulse",
        "8480-6": "sbp",
        "8462-4": "dbp",
        "8478-0": "map",
        "59408-5": "spo2",
    }
    assert (
        main(
            [
                "export",
                "--db",
                str(db_path),
                "--session",
                str(recorded),
                "--format",
                "hl7",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    from_hl7 = []
    for text in (tmp_path / "messages.hl7").read_bytes().decode().split("\n"):  # CR inside
        message = hl7.parse(text)
        assert str(message.segment("PID")[3]) == "P-1"
        from_hl7 += [
            (loinc[str(obx[3][0][0])], float(str(obx[5]))) for obx in message.segments("OBX")
        ]
    assert sorted(from_hl7) == expected
    assert (
        main(
            [
                "export",
                "--db",
                str(db_path),
                "--session",
                str(recorded),
                "--format",
                "fhir",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    bundle = Bundle.model_validate(json.loads((tmp_path / "bundle.json").read_text()))
    from_fhir = []
    for entry in bundle.entry:
        observation = entry.resource
        for part in [observation, *(observation.component or [])]:
            if part.valueQuantity is not None:
                from_fhir.append((loinc[part.code.coding[0].code], float(part.valueQuantity.value)))
    assert sorted(from_fhir) == expected


def test_pdf_report_renders_the_session(recorded: int, db_path: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    assert (
        main(
            [
                "export",
                "--db",
                str(db_path),
                "--session",
                str(recorded),
                "--format",
                "pdf",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    reader = PdfReader(tmp_path / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert 1 <= len(reader.pages) <= 3
    for expected in (
        "Chairside session report",
        "patient P-1",
        "Audit record (not the readings): record verified",
        "not a certified medical device",
        "Baseline SBP",
        "SBP peak",
        "Infusion started",
        "Alerts and acknowledgments",
        "Discharge:",
        "Times are local time",
    ):
        assert expected in text, expected
    assert "+00:00" not in text and "infusion-start" not in text and "None" not in text
    assert (
        main(
            [
                "export",
                "--db",
                str(db_path),
                "--chair",
                "c1",
                "--from",
                "2026-01-01T00:00:00Z",
                "--format",
                "pdf",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )


def test_import_of_a_vital_file_written_with_the_vitaldb_package(tmp_path: Path, capsys) -> None:
    import vitaldb

    t0 = 1_772_355_600.0  # 2026-03-01 09:00 UTC
    recording = vitaldb.VitalFile()
    recording.add_track(
        "Solar8000/HR", [{"dt": t0 + i, "val": 70.0 + i} for i in range(10)], unit="/min"
    )
    recording.add_track("Solar8000/NIBP_SBP", [{"dt": t0 + 5, "val": 150.0}], unit="mmHg")
    recording.add_track(
        "Solar8000/NIBP_DBP", [{"dt": t0 + 5, "val": 160.0}], unit="mmHg"
    )  # SBP <= DBP
    recording.add_track("Solar8000/BT", [{"dt": t0, "val": 36.6}], unit="C")  # not ours: left out
    recording.add_track("Solar8000/PLETH_SPO2", [{"dt": t0 + 1, "val": 97.0}], unit="%")
    path = tmp_path / "case.vital"
    recording.to_vital(str(path))
    db = tmp_path / "v.db"
    vital = [*IMPORT, "--db", str(db), "--format", "vital", "--file", str(path)]
    assert main([*vital, "--chair", "or-3"]) == 0
    rows = query(
        db, "SELECT chair, param, value, quality, source FROM readings_full ORDER BY t_us, param"
    )
    assert len(rows) == 13
    assert ("or-3", "hr", 70.0, "ok", "import:vitaldb:Solar8000") in rows
    assert ("or-3", "spo2", 97.0, "ok", "import:vitaldb:Solar8000") in rows
    assert {r[3] for r in rows if r[1] in ("sbp", "dbp")} == {"invalid"}  # judged as live readings
    assert query(db, "SELECT chair, protocol FROM chairs") == [("or-3", "import")]
    assert main([*vital, "--chair", "or-3"]) == 0
    assert "0 readings imported" in capsys.readouterr().out.splitlines()[-1]
    assert main(vital) == 1


def test_progress_is_told_in_tenths_whatever_the_length() -> None:
    from vitals.exchange.progress import percent_printer, tracked

    for total in (0, 1, 7, 49, 50, 51, 260_067):
        lines: list[str] = []
        assert list(tracked(range(total), "x", percent_printer(lines.append))) == list(range(total))
        assert lines[-1] == f"x: 100 % ({total} of {total})"
        percents = [int(line.split(": ")[1].split(" %")[0]) for line in lines]
        assert percents == sorted(set(percents))  # each tenth at most once, in order
        if total == 0:
            assert lines == ["x: 100 % (0 of 0)"]
        else:
            assert lines[0] == f"x: 0 % (0 of {total})"
        if total >= 50:  # enough reports to pass every tenth
            assert percents == list(range(0, 101, 10))


def test_imports_are_judged_like_live_readings(tmp_path: Path, capsys) -> None:
    """HR 0, SpO2 101 and a cuff result of 120/130 are stored flagged invalid (no alarm
    follows); a row the file repeats is stored once; the summary counts both."""
    rows = [
        "chair,time_utc,param,value,unit,quality",
        "c9,2026-03-01T09:00:00Z,hr,0,bpm,ok",
        "c9,2026-03-01T09:00:00Z,spo2,101,%,ok",
        "c9,2026-03-01T09:00:05Z,hr,72,bpm,ok",
        "c9,2026-03-01T09:00:05Z,hr,72,bpm,ok",
        "c9,2026-03-01T09:05:00Z,sbp,120,mmHg,ok",
        "c9,2026-03-01T09:05:00Z,dbp,130,mmHg,ok",
        "c9,2026-03-01T09:05:00Z,map,127,mmHg,ok",
        "c9,2026-03-01T09:10:00Z,sbp,170,mmHg,ok",
        "c9,2026-03-01T09:10:00Z,dbp,95,mmHg,ok",
    ]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(rows) + "\n")
    db = tmp_path / "i.db"
    assert main([*IMPORT, "--db", str(db), "--file", str(path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}: 8 readings imported; 0 already stored; 1 repeated in the file, stored once; "
        "5 flagged invalid as implausible"
    )
    stored = query(db, "SELECT param, value, quality FROM readings_full ORDER BY t_us, param")
    assert stored == [
        ("hr", 0.0, "invalid"),
        ("spo2", 101.0, "invalid"),
        ("hr", 72.0, "ok"),
        ("dbp", 130.0, "invalid"),  # systolic at or below diastolic: the whole result
        ("map", 127.0, "invalid"),
        ("sbp", 120.0, "invalid"),
        ("dbp", 95.0, "ok"),
        ("sbp", 170.0, "ok"),
    ]
    assert main([*IMPORT, "--db", str(db), "--file", str(path)]) == 0
    assert "0 readings imported; 8 already stored; 1 repeated" in capsys.readouterr().out


def test_pdf_times_are_local_with_the_date_where_the_day_changes(db_path: Path, tmp_path) -> None:
    """An alert that began at 22:07 and ended at 05:09 the next morning (Chicago) reads so."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from pypdf import PdfReader

    from vitals.engine import CLINICAL, Episode
    from vitals.exchange.pdf_report import clock_ticks, session_report
    from vitals.reading import Param
    from vitals.rules import Level
    from vitals.store import StoreWriter, commands, connect_readonly

    chicago = ZoneInfo("America/Chicago")
    start = datetime(2026, 11, 28, 3, 50, tzinfo=UTC)  # 21:50 on the 27th in Chicago
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("c1", "Chair 1", "x", "ge-s5")])
    writer.close()
    session = commands.start_session(
        db_path, "c1", "P-9", "iv-ketamine", "Nurse Ada", at=start, weight_kg=70
    )
    writer = StoreWriter(db_path)
    long_one = Episode(
        "sbp-high",
        CLINICAL,
        Level.WARNING,
        datetime(2026, 11, 28, 4, 7, tzinfo=UTC),
        Param.SBP,
        ended=datetime(2026, 11, 28, 11, 9, 18, tzinfo=UTC),
        peak_value=171.0,
        reason="r",
    )
    writer.write_episodes("c1", session, [long_one])
    writer.close()
    commands.end_session(
        db_path, session, "Nurse Ada", "ended", at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    )
    out = tmp_path / "report.pdf"
    session_report(connect_readonly(db_path), session, out, chicago)
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert (
        "started Fri 27 Nov 2026 21:50" in text and "Times are local time, America/Chicago" in text
    )
    assert "22:07:00 - Sat 28 Nov 05:09:18 WARNING: High SBP: peak 171 mmHg" in text
    ticks = clock_ticks(start, 8 * 3600, chicago)
    assert ticks[0].hour == 22 and ticks[0].minute == 0 and len(ticks) <= 9


HOSTILE = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR", "'=x"]


def test_exported_cells_never_run_as_formulas_and_import_gets_the_text_back(
    recorded: int, db_path: Path, tmp_path: Path
) -> None:
    """OWASP's CSV-injection rule: a note typed as a formula is shown as text in a spreadsheet."""
    for text in HOSTILE:
        commands.add_event(db_path, recorded, "note", "Nurse Ada", text)
    writer = StoreWriter(db_path)
    writer.write_chairs([Chair("=cmd|' /C calc'!A0", "evil", "x", "ge-s5")])
    writer.write_readings(
        [
            replace(r, chair="=cmd|' /C calc'!A0", source="@evil")
            for r in recorded_session("c1", "typical", 1, utc_now(), 5)
        ]
    )
    writer.close()
    out = tmp_path / "export"
    assert (
        main(["export", "--db", str(db_path), "--session", str(recorded), "--out", str(out)]) == 0
    )
    with (out / "events.csv").open(newline="", encoding="utf-8") as handle:
        notes = [row["text"] for row in csv.DictReader(handle) if row["kind"] == "note"][1:]
    assert notes == ["'" + text for text in HOSTILE]
    assert not [cell for cell in notes if cell[0] in "=+-@\t\r"]
    assert [spreadsheet_safe(v) for v in ("-3", "1e-05", "-inf")] == ["-3", "1e-05", "-inf"]
    window = tmp_path / "window"
    start = iso_utc(utc_now() - timedelta(hours=2))
    evil = "=cmd|' /C calc'!A0"
    argv = ["export", "--db", str(db_path), "--chair", evil, "--from", start, "--out", str(window)]
    assert main(argv) == 0
    first = (window / "readings.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first.startswith("'=cmd|' /C calc'!A0,") and ",'@evil," in first
    imported = read_readings_csv(window / "readings.csv")
    assert {(r.chair, r.source) for r in imported} == {("=cmd|' /C calc'!A0", "@evil")}


def test_a_nurses_acknowledgment_comment_reaches_the_review_the_pdf_and_the_csv(
    recorded: int, db_path: Path, tmp_path: Path
) -> None:
    """Nurse Ada acknowledges a high SBP with what she did: an auditor reads it in the
    session's log, its PDF and its CSV, as she typed it (never rendered as markup)."""
    from pypdf import PdfReader

    from dashboard.tables import episode_rows
    from vitals.engine import CLINICAL, Episode
    from vitals.reading import Param
    from vitals.rules import Level
    from vitals.store import connect_readonly, queries

    started = utc_now() - timedelta(minutes=15)
    writer = StoreWriter(db_path)
    high = Episode("sbp-high", CLINICAL, Level.WARNING, started, Param.SBP, reason="SBP 171")
    writer.write_episodes("c1", recorded, [high])
    writer.close()
    said = "BP repeated <b>manually</b>: 158/96"
    commands.acknowledge(db_path, 1, "Nurse Ada", said, at=started + timedelta(minutes=2))

    conn = connect_readonly(db_path)
    episodes = queries.episodes(conn, session=recorded)
    conn.close()
    [shown] = episode_rows(episodes, UTC).Acknowledged
    assert shown.startswith("Nurse Ada, ") and shown.endswith(f": “{said}”")
    for form in ("pdf", "csv"):
        out = tmp_path / form
        command = ["export", "--db", str(db_path), "--session", str(recorded), "--out", str(out)]
        assert main([*command, "--format", form]) == 0
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "pdf/report.pdf").pages)
    assert f"acknowledged by Nurse Ada at {started + timedelta(minutes=2):%H:%M:%S}" in text
    assert f'("{said}")' in " ".join(text.split())
    [row] = csv.DictReader((tmp_path / "csv/episodes.csv").open())
    assert (row["acked_by"], row["ack_comment"]) == ("Nurse Ada", said)
    assert row["acked_utc"] == iso_utc(started + timedelta(minutes=2))
