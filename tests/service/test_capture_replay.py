"""Capture a simulated monitor on a real pty, replay the file: the same readings, at any
chunking; stored once however often it is replayed; a broken file is one clear error."""

import base64
import json
import threading
from pathlib import Path

import pytest

from chairside.capture_file import IN, OUT, read_capture
from chairside.cli import main
from chairside.field_capture import capture, replay
from tests.conftest import query


def record(fleet, out: Path, seconds: float) -> list[str]:
    """Capture the fleet's only chair; the lines the capture printed."""
    device = fleet.chairs[0].devices[0]
    printed: list[str] = []
    capture(
        device.port,
        device.protocol,
        out,
        seconds,
        device.options,
        printed.append,
        threading.Event(),
    )
    return printed


def readings_of(lines: list[str]) -> list[str]:
    """'hr 72 bpm ok' for each reading line (the time stripped)."""
    return [line.split(maxsplit=1)[1] for line in lines if line[:2].isdigit()]


@pytest.mark.parametrize("protocol", ["ge-s5", "intellivue", "hl7-mllp", "masimo-ascii"])
def test_a_capture_replays_to_what_was_read_live(start_fleet, tmp_path: Path, protocol) -> None:
    fleet = start_fleet(chairs=1, speed=60, protocol=protocol, interval_s=1)
    out = tmp_path / "line.capture"
    live = readings_of(record(fleet, out, seconds=4))
    assert live, "the capture read no readings"
    found = read_capture(out)
    assert found.header.protocol == protocol and not found.cut_off
    directions = {r.direction for r in found.records}
    assert IN in directions
    if protocol in ("ge-s5", "intellivue"):  # requested / polled: what we sent is kept too
        assert OUT in directions
    for chunk in ("recorded", "1", "random:3"):
        printed: list[str] = []
        replay(found, protocol, found.header.options, chunk, printed.append)
        assert readings_of(printed) == live, chunk


def test_replay_stores_once_and_says_what_it_did(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "rad8.txt"
    raw.write_bytes(
        b"03/01/26 09:00:01 SN=0000000001 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% "
        b"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
    )
    capture_file = tmp_path / "rad8.capture"
    capture_file.write_text(
        '{"format":"chairside-capture","version":1,"protocol":"masimo-ascii","port":"x",'
        '"options":{},"started_utc":"2026-03-01T09:00:00.000000Z"}\n'
        + json.dumps(
            {
                "t": 1.5,
                "dir": "in",
                "b64": base64.b64encode(raw.read_bytes()).decode(),
            }
        )
        + "\n"
    )
    db = tmp_path / "chairside.db"
    args = ["replay", str(capture_file), "--protocol", "masimo-ascii", "--db", str(db)]
    assert main([*args, "--chair", "chair-9"]) == 0
    assert main([*args, "--chair", "chair-9"]) == 0
    out = capsys.readouterr().out
    assert "09:00:01.500Z  spo2  98 %  ok" in out
    assert "received but not used ×1: field PI" in out
    assert "2 readings stored for chair chair-9" in out and "0 were already there" in out
    assert "0 readings stored for chair chair-9" in out and "2 were already there" in out
    rows = query(db, "SELECT chair, time_utc, param, value FROM readings_v ORDER BY param")
    assert rows == [
        ("chair-9", "2026-03-01T09:00:01.500Z", "pulse", 97.0),
        ("chair-9", "2026-03-01T09:00:01.500Z", "spo2", 98.0),
    ]


@pytest.mark.parametrize(
    ("content", "args", "error"),
    [
        (
            '{"format":"chairside-capture","version":1,"protocol":"ge-s5","started_utc":'
            '"2026-03-01T09:00:00Z"}\n',
            ["--protocol", "intellivue"],
            "was captured with protocol 'ge-s5'; replay it with --protocol ge-s5",
        ),
        (
            '{"format":"chairside-capture","version":2}\n',
            ["--protocol", "ge-s5"],
            "capture version 2, expected 1",
        ),
        (
            '{"format":"chairside-capture","version":1,"protocol":"ge-s5","started_utc":'
            '"2026-03-01T09:00:00Z"}\n{"t":1,"dir":"sideways","b64":""}\n',
            ["--protocol", "ge-s5"],
            "line 2: not a record (direction 'sideways')",
        ),
        ("x", ["--protocol", "ge-s5", "--db", "x.db"], "needs both --db PATH and --chair C"),
        (
            "x",
            ["--protocol", "ge-s5", "--db", "x.db", "--chair", "c"],
            "raw bytes without receipt times: only a file made by",
        ),
        ("x", ["--protocol", "ge-s5", "--chunk", "0"], "--chunk '0': expected"),
        ("x", ["--protocol", "hl7-mllp", "--option", "dialect=klingon"], "unknown dialect"),
    ],
)
def test_broken_files_and_options_are_one_line_errors(
    tmp_path: Path, capsys, content: str, args: list[str], error: str
) -> None:
    path = tmp_path / "broken.capture"
    path.write_text(content)
    assert main(["replay", str(path), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chairside: error: ") and error in err and err.count("\n") == 1


def test_an_interrupted_capture_replays_what_it_holds(tmp_path: Path, capsys) -> None:
    path = tmp_path / "cut.capture"
    path.write_text(
        '{"format":"chairside-capture","version":1,"protocol":"masimo-ascii","port":"x",'
        '"options":{},"started_utc":"2026-03-01T09:00:00.000000Z"}\n{"t":1,"dir":"in","b6'
    )
    assert main(["replay", str(path), "--protocol", "masimo-ascii"]) == 0
    assert "last line was cut off" in capsys.readouterr().out


def test_a_missing_port_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    out = tmp_path / "never.capture"
    args = ["capture", "--port", str(tmp_path / "no-tty"), "--protocol", "ge-s5", "--out", str(out)]
    assert main(args) == 1
    assert "cannot open port" in capsys.readouterr().err and not out.exists()


def test_hl7_saved_as_plain_text_replays(tmp_path: Path, capsys) -> None:
    path = tmp_path / "vs900.hl7"
    path.write_text(
        "MSH|^~\\&|MINDRAY_VS900||||20260301090000+0100||ORU^R01^ORU_R01|1|P|2.6\n"
        "OBX|1|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.1.9.150301|147|266016^MDC_DIM_MMHG^MDC|||||R\n"
    )
    assert main(["replay", str(path), "--protocol", "hl7-mllp"]) == 0
    out = capsys.readouterr().out
    assert "plain HL7 text" in out and "sbp   147 mmHg  ok" in out
