"""The command line: help for every subcommand, one-line errors with a non-zero exit."""

import sqlite3
import subprocess
from pathlib import Path

import pytest

from chairside.cli import build_parser, main
from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from vitals.store import StoreWriter

SUBCOMMANDS = ["simulate", "record", "dashboard", "demo", "session", "user", "export", "import"]
SUBCOMMANDS += ["service", "doctor", "backup"]  # what a clinic's IT person runs
SUBCOMMANDS += ["verify"]  # is the record as it was written?
SUBCOMMANDS += ["capture", "replay"]  # a monitor's line, recorded and decoded
SUBCOMMANDS += ["notify"]  # alarms forwarded to phones and mail
SUBCOMMANDS += ["resend"]  # a site's history to the central store again


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m chairside " + command in capsys.readouterr().out


def test_readme_documents_every_subcommand() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(commands) == set(SUBCOMMANDS)
    for command in commands:
        assert f"python -m chairside {command}" in readme, f"README does not document {command}"


def error_of(argv: list[str], capsys) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, "errors are one line"
    return err


def test_missing_config_file(capsys, tmp_path: Path) -> None:
    err = error_of(
        ["record", "--config", str(tmp_path / "none.toml"), "--db", str(tmp_path / "x.db")], capsys
    )
    assert err.startswith("chairside: error: chair config") and "does not exist" in err


def test_unknown_protocol_in_config(capsys, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[chairs]]\nid = "a"\nport = "loop://"\nprotocol = "nihon-kohden"\n')
    err = error_of(["record", "--config", str(config), "--db", str(tmp_path / "x.db")], capsys)
    assert "unknown protocol 'nihon-kohden'" in err


def test_bad_simulate_arguments(capsys, tmp_path: Path) -> None:
    out = str(tmp_path / "c.toml")
    assert "unknown scenario 'calm'" in error_of(
        ["simulate", "--scenario", "calm", "--config", out], capsys
    )
    assert "--speed must be 1-600" in error_of(
        ["simulate", "--speed", "0", "--config", out], capsys
    )
    assert "unknown protocol" in error_of(["simulate", "--protocol", "x", "--config", out], capsys)


def test_bad_dashboard_port(capsys) -> None:
    assert "--port must be 1-65535" in error_of(["dashboard", "--port", "0"], capsys)


def states(db: Path) -> list[tuple]:
    """The device states, or none while the recorder has not yet created the store."""
    try:
        return query(db, "SELECT state FROM device_state")
    except sqlite3.OperationalError:
        return []


def test_missing_port_is_reported_by_the_running_recorder_not_a_crash(tmp_path: Path) -> None:
    """A chair whose port is missing is a device state; the process keeps running."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[chairs]]\nid = "a"\nport = "{tmp_path / "ttyNONE"}"\nprotocol = "ge-s5"\n'
    )
    child = subprocess.Popen(
        chairside_command("record", "--config", str(config), "--db", str(tmp_path / "x.db")),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db = tmp_path / "x.db"
    try:
        wait_for(
            lambda: states(db) == [("disconnected",)],
            timeout=60,
            what="the recorder to report the missing port",
        )
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)  # the missing port is reported and the recorder goes on
    finally:
        child.terminate()
        output, _ = child.communicate(timeout=15)
    assert child.returncode == 0, output
    assert "recorder stopped cleanly" in output


def test_session_commands_from_start_to_discharge_verdict(
    capsys, tmp_path: Path, nurse_ada: list[str]
) -> None:
    from vitals.chairs import Chair
    from vitals.engine import CLINICAL, Episode
    from vitals.reading import Param, utc_now
    from vitals.rules import Level
    from vitals.store import StoreWriter

    db = str(tmp_path / "s.db")
    writer = StoreWriter(Path(db))
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    base = ["--db", db, *nurse_ada]
    start = [
        "session",
        "start",
        "--chair",
        "c1",
        "--patient",
        "P-7",
        "--protocol",
        "esketamine-nasal",
        "--dose",
        "84",
        "--set",
        "spo2-low.warning=92",
    ]
    assert main([*start, *base]) == 0
    assert capsys.readouterr().out.strip() == "session 1 started on c1"
    assert (
        main(["session", "event", "--chair", "c1", "--kind", "dose", "--value", "84", *base]) == 0
    )
    assert (
        main(["session", "threshold", "--session", "1", "--set", "sbp-high.warning=170", *base])
        == 0
    )
    assert "sbp-high warning 160 -> 170" in capsys.readouterr().out
    baseline = ["session", "baseline", "--chair", "c1", "--set", "sbp=128", "--set", "dbp=80"]
    assert main([*baseline, *base]) == 0
    assert "baseline entered by hand (sbp 128, dbp 80)" in capsys.readouterr().out
    writer.write_episodes(
        "c1", 1, [Episode("sbp-high", CLINICAL, Level.WARNING, utc_now(), Param.SBP, reason="r")]
    )
    writer.close()
    assert main(["session", "ack", "--episode", "1", "--comment", "seen", *base]) == 0
    assert main(["session", "end", "--chair", "c1", *base]) == 0
    out = capsys.readouterr().out
    assert "episode 1 acknowledged by Nurse Ada" in out
    assert "session 1 ended; not yet ready for discharge: 0 of 120 min observed" in out
    assert "no alert waiting for a nurse" in out  # acknowledged: seen, no longer holding her


def test_session_errors_are_one_line(capsys, tmp_path: Path, nurse_ada: list[str]) -> None:
    db = ["--db", str(tmp_path / "s.db"), *nurse_ada]
    err = error_of(
        [
            "session",
            "start",
            "--chair",
            "c1",
            "--patient",
            "Jane Doe",
            "--protocol",
            "iv-ketamine",
            *db,
        ],
        capsys,
    )
    assert "pseudonymous" in err
    assert "no open session" in error_of(["session", "end", "--chair", "c1", *db], capsys)
    assert "--set expects RULE.LEVEL=VALUE" in error_of(
        ["session", "threshold", "--session", "1", "--set", "x", *db], capsys
    )


def test_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    done = subprocess.run(
        chairside_command("user", "add", "Nurse Ada", "--users", str(users), "--password-stdin"),
        input="lovelace\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=child_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    from vitals.users import authenticate

    assert authenticate(users, "Nurse Ada", "lovelace")


def test_a_new_database_starts_from_the_sample_and_an_old_one_is_kept(tmp_path: Path) -> None:
    from chairside.launch import start_store_from
    from simulators.sample_clinic import SAMPLE_DB

    db = tmp_path / "demo.db"
    start_store_from(db, SAMPLE_DB)
    assert query(db, "SELECT count(*) FROM sessions") == query(
        SAMPLE_DB, "SELECT count(*) FROM sessions"
    )
    StoreWriter(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM readings")
    start_store_from(db, SAMPLE_DB)  # exists: never replaced by the sample
    assert query(db, "SELECT count(*) FROM readings") == [(0,)]
    assert main(["dashboard", "--db", str(tmp_path / "x.db"), "--start-from", "nope.db"]) == 1


def test_version_and_the_installed_command_name(capsys, monkeypatch) -> None:
    from chairside import __version__
    from chairside.cli import console_main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"chairside {__version__}\n"
    monkeypatch.setattr("sys.argv", ["chairside", "backup", "--help"])
    with pytest.raises(SystemExit):
        console_main()
    assert capsys.readouterr().out.startswith("usage: chairside backup")


def test_backup_command_keeps_generations(tmp_path: Path, capsys) -> None:
    StoreWriter(tmp_path / "c.db").close()
    assert main(["backup", "--db", str(tmp_path / "c.db"), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"backup {tmp_path / 'b'}/c-") and out.rstrip().endswith("MB)")
    assert "--keep must be at least 1" in error_of(
        ["backup", "--db", str(tmp_path / "c.db"), "--out", str(tmp_path / "b"), "--keep", "0"],
        capsys,
    )
    assert "does not exist" in error_of(
        ["backup", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "b")], capsys
    )


def test_the_dashboard_time_zone_is_checked_and_passed_on(capsys, tmp_path: Path) -> None:
    from chairside.launch import dashboard_env

    bad = ["dashboard", "--db", str(tmp_path / "x.db"), "--timezone", "Mars/Olympus"]
    assert main(bad) == 1
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    env = dashboard_env(tmp_path / "x.db", tmp_path / "u.toml", "America/Chicago", 15)
    assert env["CHAIRSIDE_TIMEZONE"] == "America/Chicago"
    assert env["CHAIRSIDE_IDLE_LOCK_MIN"] == "15"
    assert dashboard_env(tmp_path / "x.db", tmp_path / "u.toml")["CHAIRSIDE_TIMEZONE"] == ""


def test_the_dashboard_serves_a_central_store_named_by_its_url(tmp_path: Path) -> None:
    """`dashboard --db postgresql://…` reaches the app as the URL (a Path would have lost its
    '//'); its logs go beside the users file, as a server has no folder here."""
    from chairside.launch import dashboard_env
    from vitals.store.location import PostgresServer

    url = "postgresql://reviewer@db.example:5433/central?host=/run/postgresql"
    args = build_parser().parse_args(["dashboard", "--db", url, "--users", str(tmp_path / "u")])
    assert args.db == PostgresServer(url)
    env = dashboard_env(args.db, args.users)
    assert env["CHAIRSIDE_DB"] == url
    assert env["CHAIRSIDE_LOG_DIR"] == str((tmp_path / "logs").resolve())


def test_restarting_the_demo_keeps_the_stations_signed_in(tmp_path: Path) -> None:
    """The demo's user is written once: a second `make demo` must not sign every station out
    (a rewritten file, with a new salt, ends every sign-in)."""
    from chairside.launch import demo_users

    users = demo_users(tmp_path, tmp_path / "no-users.toml")
    written = users.read_bytes()
    assert demo_users(tmp_path, tmp_path / "no-users.toml").read_bytes() == written
