"""`chairside service install`: units systemd accepts, with absolute paths, a watchdog for the
recorder, restarts that never give up, a nightly backup; and what to run next."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from chairside.cli import main
from chairside.service import installed_options

CHAIRS = '[[chairs]]\nid = "chair-1"\nport = "/dev/ttyUSB0"\nprotocol = "ge-s5"\n'


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "clinic data 100%"  # a space and a % systemd would expand
    folder.mkdir()
    config = folder / "chairs.toml"
    config.write_text(CHAIRS)
    return config, folder / "chairside.db"


def install(setup, tmp_path: Path, *extra: str) -> Path:
    config, db = setup
    units = tmp_path / "units"
    argv = ["service", "install", "--config", str(config), "--db", str(db)]
    assert main([*argv, "--unit-dir", str(units), *extra]) == 0
    return units


def test_units_for_recorder_dashboard_and_nightly_backup(setup, tmp_path: Path, capsys) -> None:
    units = install(setup, tmp_path, "--port", "8600", "--keep", "7", "--backup-at", "02:30")
    out = capsys.readouterr().out
    names = sorted(p.name for p in units.iterdir())
    assert names == [
        "chairside-backup.service",
        "chairside-backup.timer",
        "chairside-dashboard.service",
        "chairside-recorder.service",
    ]
    for name in names:
        assert f"wrote {units / name}" in out
    recorder = unit(units / "chairside-recorder.service")
    assert recorder["Service"]["Type"] == "notify"
    assert recorder["Service"]["WatchdogSec"] == "30"
    assert recorder["Service"]["Restart"] == "on-failure"
    assert recorder["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up restarting
    assert recorder["Service"]["User"] == "chairside"
    assert " -m chairside record --config " in recorder["Service"]["ExecStart"]
    assert '"' + str(setup[1]).replace("%", "%%") + '"' in recorder["Service"]["ExecStart"]
    assert recorder["Service"]["WorkingDirectory"] == str(setup[1].parent).replace("%", "%%")
    dashboard = unit(units / "chairside-dashboard.service")
    assert "--port 8600 --address 127.0.0.1" in dashboard["Service"]["ExecStart"]
    assert dashboard["Service"]["Restart"] == "on-failure"
    backup = unit(units / "chairside-backup.service")
    assert backup["Service"]["Type"] == "oneshot"
    assert " -m chairside backup --db " in backup["Service"]["ExecStart"]
    assert backup["Service"]["ExecStart"].endswith("--keep 7")
    timer = unit(units / "chairside-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert "useradd --system" in out or "install -d -o chairside" in out
    assert "chairside doctor" in out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_itself_accepts_the_units(setup, tmp_path: Path) -> None:
    units = install(setup, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if "chairside" in line]
    assert complaints == [], complaints  # unknown keys and bad values are only warnings


def test_the_installed_units_tell_doctor_what_the_service_uses(setup, tmp_path: Path) -> None:
    config, db = setup
    units = install(setup, tmp_path, "--address", "0.0.0.0", "--user", "clinic")
    found = installed_options(units)
    assert Path(found["config"]) == config.resolve()
    assert Path(found["db"]) == db.resolve()
    assert Path(found["users"]) == db.resolve().parent / "users.toml"
    assert Path(found["log_dir"]) == db.resolve().parent / "logs"
    assert Path(found["backup_dir"]) == db.resolve().parent / "backups"
    assert (found["address"], found["port"], found["user"]) == ("0.0.0.0", "8501", "clinic")


def test_dry_run_shows_the_units_and_writes_nothing(setup, tmp_path: Path, capsys) -> None:
    config, db = setup
    argv = ["service", "install", "--config", str(config), "--db", str(db), "--dry-run"]
    assert main([*argv, "--unit-dir", str(tmp_path / "units")]) == 0
    out = capsys.readouterr().out
    assert f"# {tmp_path / 'units' / 'chairside-recorder.service'}" in out
    assert "WatchdogSec=30" in out and "[Timer]" in out
    assert not (tmp_path / "units").exists()


def test_a_setup_that_cannot_run_is_refused_before_anything_is_written(
    setup, tmp_path: Path, capsys
) -> None:
    config, db = setup
    config.write_text(CHAIRS.replace("ge-s5", "nihon-kohden"))
    argv = ["service", "install", "--config", str(config), "--db", str(db)]
    assert main([*argv, "--unit-dir", str(tmp_path / "units")]) == 1
    assert "unknown protocol 'nihon-kohden'" in capsys.readouterr().err
    assert not (tmp_path / "units").exists()
    config.write_text(CHAIRS)
    assert main([*argv, "--backup-at", "25:00", "--unit-dir", str(tmp_path / "u")]) == 1
    assert "--backup-at must be HH:MM" in capsys.readouterr().err
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    assert main([*argv, "--unit-dir", str(blocked)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chairside: error: cannot write") and "--dry-run" in err
