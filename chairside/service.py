"""``chairside service install``: systemd units that start Chairside at boot and restart it.

Four units, every path in them absolute:

- ``chairside-recorder.service``: ``Type=notify`` with a watchdog. The recorder says READY
  once its workers run and pings after every heartbeat the store committed
  (``chairside.sdnotify``); a crash, or a loop that stops pinging for ``WatchdogSec``, is
  restarted after ``RestartSec``, for ever (``StartLimitIntervalSec=0``: a recorder that
  gives up is a blind clinic).
- ``chairside-dashboard.service``: the nurses' page, restarted the same way.
- ``chairside-backup.service`` and ``.timer``: ``chairside backup`` every night, keeping
  generations; ``Persistent=`` runs a backup missed while the PC was off at the next boot.

The recorder, the dashboard and the backup run as one unprivileged account that owns the
data folder; the serial ports' group (``dialout`` on Debian and Ubuntu, ``uucp`` on Arch) is
added when the system has it. Nothing is enabled here: the command prints what to run.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from vitals.errors import ConfigError
from vitals.store import relay
from vitals.store.location import parse

UNIT_DIR = Path("/etc/systemd/system")
RECORDER, DASHBOARD, BACKUP = "chairside-recorder", "chairside-dashboard", "chairside-backup"
SERIAL_GROUPS = ("dialout", "uucp")
WATCHDOG_S = 30  # the recorder pings every second; 30 s of silence means it is wedged
RESTART_S = 5
BACKUP_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSpec:
    """What the units run: all paths absolute (``resolved`` makes them so)."""

    config: Path
    db: Path
    users: Path
    log_dir: Path
    backup_dir: Path
    user: str = "chairside"
    port: int = 8501
    address: str = "127.0.0.1"
    keep: int = 14
    backup_at: str = "03:15"
    python: str = sys.executable
    forward: str | None = None  # a central store the recorder copies to (with ``site``)
    site: str | None = None

    def check(self) -> None:
        if not BACKUP_TIME.match(self.backup_at):
            raise ConfigError(f"--backup-at must be HH:MM (24 h), got {self.backup_at!r}")
        if self.keep < 1:
            raise ConfigError(f"--keep must be at least 1, got {self.keep}")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"--port must be 1-65535, got {self.port}")
        if not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", self.user):
            raise ConfigError(f"--user {self.user!r} is not a valid account name")
        if self.forward or self.site:
            if not (self.forward and self.site):
                raise ConfigError("--forward and --site go together: where, and as which site")
            relay.check_site(self.site)
            parse(self.forward)  # a URL with a password is refused here, not in a unit file


def resolved(spec: ServiceSpec) -> ServiceSpec:
    """The same spec with every path absolute, since a unit runs in its own directory."""
    paths = ("config", "db", "users", "log_dir", "backup_dir")
    return ServiceSpec(
        **{name: getattr(spec, name) for name in spec.__dataclass_fields__ if name not in paths},
        **{name: Path(getattr(spec, name)).resolve() for name in paths},
    )


def render_units(spec: ServiceSpec, serial_group: str | None) -> dict[str, str]:
    """File name → text of every unit."""
    me = [spec.python, "-m", "chairside"]
    record = [*me, "record", "--config", spec.config, "--db", spec.db]
    if spec.forward:
        record += ["--forward", spec.forward, "--site", spec.site]
    dashboard = [*me, "dashboard", "--db", spec.db, "--users", spec.users]
    dashboard += ["--port", str(spec.port), "--address", spec.address]
    backup = [*me, "backup", "--db", spec.db, "--out", spec.backup_dir, "--keep", str(spec.keep)]
    return {
        f"{RECORDER}.service": _service(
            spec,
            "Chairside recorder: vital signs from the chairs' monitors into the store",
            record,
            ["Type=notify", "NotifyAccess=main", f"WatchdogSec={WATCHDOG_S}"],
            [f"SupplementaryGroups={serial_group}"] if serial_group else [],
        ),
        f"{DASHBOARD}.service": _service(
            spec, "Chairside dashboard: the nurses' page", dashboard, ["Type=simple"], []
        ),
        f"{BACKUP}.service": _backup_service(spec, backup),
        f"{BACKUP}.timer": _backup_timer(spec),
    }


def _service(spec: ServiceSpec, what: str, command: list, kind: list[str], extra: list[str]) -> str:
    return _unit(
        {
            "Unit": [
                f"Description={what}",
                "Wants=network-online.target",
                "After=network-online.target",
                "StartLimitIntervalSec=0",
            ],
            "Service": [
                *kind,
                f"ExecStart={_command(command)}",
                "Restart=on-failure",
                f"RestartSec={RESTART_S}",
                *_account(spec),
                *extra,
            ],
            "Install": ["WantedBy=multi-user.target"],
        }
    )


def _backup_service(spec: ServiceSpec, command: list) -> str:
    return _unit(
        {
            "Unit": [f"Description=Chairside backup of {spec.db.name}, {spec.keep} kept"],
            "Service": [
                "Type=oneshot",
                f"ExecStart={_command(command)}",
                *_account(spec),
                "Nice=10",
                "IOSchedulingClass=idle",
            ],
        }
    )


def _backup_timer(spec: ServiceSpec) -> str:
    return _unit(
        {
            "Unit": ["Description=Nightly Chairside backup"],
            "Timer": [f"OnCalendar=*-*-* {spec.backup_at}:00", "Persistent=true"],
            "Install": ["WantedBy=timers.target"],
        }
    )


def _account(spec: ServiceSpec) -> list[str]:
    """Who runs it, where, and the environment every Chairside process reads."""
    env = {
        "CHAIRSIDE_LOG_DIR": spec.log_dir,
        "CHAIRSIDE_BACKUP_DIR": spec.backup_dir,
        "PYTHONUNBUFFERED": "1",
    }
    if not _installed():  # run from a checkout: the packages are found beside this one
        env["PYTHONPATH"] = PACKAGE_ROOT
    # a path setting takes no quotes (spaces are fine); only % must be escaped
    folder = str(spec.db.parent).replace("%", "%%")
    lines = [f"User={spec.user}", f"WorkingDirectory={folder}"]
    lines += [f"Environment={_quote(f'{key}={value}')}" for key, value in env.items()]
    return [*lines, "NoNewPrivileges=yes", "PrivateTmp=yes"]


def _installed() -> bool:
    import importlib.metadata  # here, not at the top: every command's start-up would pay

    try:
        importlib.metadata.distribution("chairside")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _unit(sections: dict[str, list[str]]) -> str:
    header = "# Written by `chairside service install`; run it again rather than editing.\n"
    body = "\n".join(f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in sections.items())
    return header + body


def _command(words: list) -> str:
    return " ".join(_quote(word) for word in words)


def _quote(word: object) -> str:
    """One word of a unit line: systemd expands % and $, and splits at spaces unless quoted."""
    text = str(word).replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", text) or not text:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def serial_group() -> str | None:
    """The group that owns serial ports on this system, if it has one (POSIX only)."""
    try:
        import grp  # POSIX only
    except ImportError:
        return None
    for name in SERIAL_GROUPS:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    return None


def account_exists(user: str) -> bool:
    try:
        import pwd  # POSIX only
    except ImportError:
        return False
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def write_units(units: dict[str, str], unit_dir: Path) -> list[Path]:
    written = []
    for name, text in units.items():
        path = Path(unit_dir) / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o644)
            tmp.replace(path)
        except OSError as exc:
            raise ConfigError(
                f"cannot write {path}: {exc.strerror or exc}; run as root (sudo), "
                "or see the units first with --dry-run"
            ) from None
        written.append(path)
    return written


def next_steps(spec: ServiceSpec, unit_dir: Path) -> list[str]:
    """What the IT person runs after the units are written, in order."""
    steps = []
    if not account_exists(spec.user):
        group = serial_group()
        groups = f" --groups {group}" if group else ""
        home = _sh(spec.db.parent)
        steps.append(f"sudo useradd --system{groups} --home-dir {home} {spec.user}")
    folders = sorted({spec.db.parent, spec.log_dir, spec.backup_dir})
    steps.append(f"sudo install -d -o {spec.user} " + " ".join(_sh(p) for p in folders))
    if not spec.users.exists():
        me = f"sudo {_sh(spec.python)} -m chairside"
        steps.append(f'{me} user add "NURSE NAME" --users {_sh(spec.users)}  # each nurse')
    steps.append(f"sudo chown {spec.user} {_sh(spec.users)}  # the nurses' users file")
    if Path(unit_dir).resolve() == UNIT_DIR:
        steps.append("sudo systemctl daemon-reload")
        units = f"{RECORDER}.service {DASHBOARD}.service {BACKUP}.timer"
        steps.append(f"sudo systemctl enable --now {units}")
    doctor = f"sudo {_sh(spec.python)} -m chairside doctor"
    if Path(unit_dir).resolve() == UNIT_DIR:
        steps.append(f"{doctor}  # checks what the units use")
    else:
        paths = f"--config {_sh(spec.config)} --db {_sh(spec.db)} --users {_sh(spec.users)}"
        steps.append(f"{doctor} {paths}")
    return steps


def _sh(path: object) -> str:
    text = str(path)
    return f"'{text}'" if re.search(r"[^\w@%+=:,./-]", text) else text


def installed_options(unit_dir: Path = UNIT_DIR) -> dict[str, str]:
    """The options the installed units run with (``db``, ``config``, ``users``, ``port``,
    ``address``, ``user``, ``log_dir``, ``backup_dir``), so ``chairside doctor`` checks
    what the service really uses; empty when no unit is installed."""
    found: dict[str, str] = {}
    for name in (f"{RECORDER}.service", f"{DASHBOARD}.service"):
        try:
            text = (Path(unit_dir) / name).read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition("=")
            value = value.replace("%%", "%").replace("$$", "$")
            if key == "ExecStart":
                words = shlex.split(value)
                pairs = itertools.pairwise(words)
                found.update({w[2:]: v for w, v in pairs if w.startswith("--")})
            elif key == "User":
                found["user"] = value
            elif key == "Environment":
                variable, _, setting = shlex.split(value)[0].partition("=")
                if variable in ENVIRONMENT_OPTIONS:
                    found[ENVIRONMENT_OPTIONS[variable]] = setting
    return found


ENVIRONMENT_OPTIONS = {"CHAIRSIDE_LOG_DIR": "log_dir", "CHAIRSIDE_BACKUP_DIR": "backup_dir"}
