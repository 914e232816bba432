"""Who acts is who proved it: ``--by`` needs the nurse's password or a token she created;
imports say who imported, mark what they stored, and never quietly reopen a closed record."""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest

from chairside.cli import main
from tests.conftest import query
from vitals.chairs import Chair
from vitals.nurse_tokens import TOKEN_ENV, create_token, token_holder, tokens_path
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands
from vitals.users import add_user

START = ["session", "start", "--chair", "c1", "--patient", "P-1", "--protocol", "iv-ketamine"]


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    users, db = tmp_path / "users.toml", tmp_path / "c.db"
    add_user(users, "Nurse Ada", "correct horse")
    add_user(users, "Nurse Ben", "battery staple")
    StoreWriter(db).close()
    commands.register_chairs(db, [Chair("c1", "Chair 1", "loop://", "ge-s5")])
    return users, db


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_a_name_alone_is_not_enough(clinic, monkeypatch, capsys) -> None:
    users, db = clinic
    who = ["--by", "Nurse Ada", "--users", str(users), "--db", str(db), "--weight", "70"]
    assert run([*START, *who], monkeypatch) == 1  # no terminal to ask, no password given
    assert "needs her credentials: --password-stdin" in capsys.readouterr().err
    assert run([*START, *who, "--password-stdin"], monkeypatch, "battery staple\n") == 1
    assert "wrong password for 'Nurse Ada'" in capsys.readouterr().err
    assert query(db, "SELECT count(*) FROM sessions") == [(0,)]  # nothing written
    forged = ["--by", "Dr Nobody", "--users", str(users), "--db", str(db), "--weight", "70"]
    assert run([*START, *forged, "--password-stdin"], monkeypatch, "x\n") == 1
    assert run([*START, *who, "--password-stdin"], monkeypatch, "correct horse\n") == 0
    assert query(db, "SELECT started_by FROM sessions") == [("Nurse Ada",)]


def test_a_token_acts_only_for_the_nurse_who_made_it_and_only_until_it_expires(
    clinic, monkeypatch, capsys
) -> None:
    users, db = clinic
    assert run(["user", "token", "Nurse Ben", "--users", str(users), "--password-stdin"],
               monkeypatch, "battery staple\n") == 0  # fmt: skip
    token = capsys.readouterr().out.strip()
    assert token not in tokens_path(users).read_text()  # only its hash is kept
    assert os.stat(tokens_path(users)).st_mode & 0o777 == 0o600
    monkeypatch.setenv(TOKEN_ENV, token)
    as_ada = ["--by", "Nurse Ada", "--users", str(users), "--db", str(db), "--weight", "70"]
    assert run([*START, *as_ada], monkeypatch) == 1
    assert "wrong token for 'Nurse Ada'" in capsys.readouterr().err
    as_ben = ["--by", "Nurse Ben", "--users", str(users), "--db", str(db), "--weight", "70"]
    assert run([*START, *as_ben], monkeypatch) == 0
    assert token_holder(users, token) == "Nurse Ben"
    assert token_holder(users, token, utc_now() + timedelta(hours=13)) is None
    with pytest.raises(Exception, match="wrong password"):
        create_token(users, "Nurse Ben", "guess")


def readings_csv(path: Path, at: str, chair: str = "c1", source: str = "ge-s5") -> Path:
    path.write_text(
        f"chair,time_utc,param,value,unit,quality,source\n{chair},{at},spo2,97,%,ok,{source}\n"
    )
    return path


def test_imports_are_marked_audited_and_stay_out_of_ended_sessions(
    clinic, monkeypatch, capsys, tmp_path: Path
) -> None:
    users, db = clinic
    started = utc_now() - timedelta(hours=2)
    session = commands.start_session(db, "c1", "P-1", "iv-ketamine", "Nurse Ada", started, 70)
    commands.end_session(db, session, "Nurse Ada", "ready", started + timedelta(hours=1))
    inside = (started + timedelta(minutes=30)).isoformat()
    forged = readings_csv(tmp_path / "forged.csv", inside)
    ada = ["--by", "Nurse Ada", "--users", str(users), "--password-stdin", "--db", str(db)]
    assert run(["import", "--file", str(forged), *ada], monkeypatch, "correct horse\n") == 1
    assert "inside ended session(s) 1" in capsys.readouterr().err
    assert query(db, "SELECT count(*) FROM readings") == [(0,)]
    argv = ["import", "--file", str(forged), "--into-ended-session", *ada]
    assert run(argv, monkeypatch, "correct horse\n") == 0
    assert query(db, "SELECT source, quality FROM readings_full") == [("import:ge-s5", "ok")]
    [(kind, text, by, in_session)] = query(
        db, "SELECT kind, text, by, session FROM events WHERE kind = 'import'"
    )
    assert (kind, by, in_session) == ("import", "Nurse Ada", session)
    assert "forged.csv" in text and "--into-ended-session" in text
    html = readings_csv(tmp_path / "html.csv", inside, chair="<b>x</b>")
    assert run(["import", "--file", str(html), *ada], monkeypatch, "correct horse\n") == 1
    assert "is not a chair id" in capsys.readouterr().err
