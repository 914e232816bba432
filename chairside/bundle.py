"""``chairside doctor --bundle FILE``: one zip a clinic can send to support.

It holds what support asks for first: the doctor's findings, versions, the logs (rotated ones
too), the chair config with its secrets removed, the devices' states and the recorder's
heartbeat as the store has them, the installed systemd units and the recent journal.
It never holds the database, a reading, a session, or the users file (password hashes):
the logs carry chairs, states and errors, and no patient data beyond pseudonymous references.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from chairside import __version__
from chairside.doctor import Finding, Setup
from chairside.service import BACKUP, DASHBOARD, RECORDER, UNIT_DIR
from vitals.errors import ChairsideError, ConfigError
from vitals.store import connect_readonly, queries
from vitals.store.migrations import applied

SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)
REMOVED = "<removed>"
PACKAGES = ("streamlit", "pandas", "numpy", "plotly", "pyserial", "hl7", "fpdf2")


def write_bundle(path: Path, setup: Setup, findings: Iterable[Finding]) -> list[str]:
    """Write the zip at ``path``; returns the names it holds."""
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("doctor.txt", "\n".join(f.line() for f in findings) + "\n")
            bundle.writestr("versions.txt", _versions())
            if setup.config is not None:
                bundle.writestr(f"config/{setup.config.name}", redacted_config(setup.config))
            bundle.writestr("store.txt", _store_facts(setup.db))
            for log in _logs(setup.log_dir):
                bundle.write(log, f"logs/{log.name}")
            for unit in _units():
                bundle.write(unit, f"systemd/{unit.name}")
            journal = _journal()
            if journal:
                bundle.writestr("journal.txt", journal)
            return bundle.namelist()
    except OSError as exc:
        raise ConfigError(f"cannot write the support bundle {path}: {exc}") from None


def redacted_config(config: Path) -> str:
    """The chair config as TOML, with every secret-looking value and URL password removed."""
    try:
        document = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return f"# {config} could not be read ({exc}); it is left out rather than risk a secret\n"
    return tomli_w.dumps(_redact(document))


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if SECRET_KEY.search(key):
        return REMOVED
    if isinstance(value, str) and "@" in value and "://" in value:
        parts = urlsplit(value)
        if parts.password or parts.username:
            host = parts.hostname or ""
            netloc = f"{REMOVED}@{host}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def _versions() -> str:
    import importlib.metadata  # here, not at the top: every command's start-up would pay

    lines = [f"chairside {__version__}", f"python {platform.python_version()}"]
    lines.append(f"system {platform.platform()}")
    for name in PACKAGES:
        try:
            lines.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"{name} missing")
    return "\n".join(lines) + "\n"


def _store_facts(db: Path) -> str:
    """Device states, the heartbeat and the schema: no readings, sessions or patients."""
    try:
        conn = connect_readonly(db)
    except ChairsideError as exc:
        return f"{exc}\n"
    try:
        states = queries.device_states(conn).to_string(index=False)
        beat = queries.heartbeat(conn)
        migrations = applied(conn)
    except Exception as exc:  # a damaged store is itself a finding for support
        return f"the store could not be read: {exc!r}\n"
    finally:
        conn.close()
    return (
        f"database {db}\nmigrations {', '.join(migrations)}\nheartbeat {beat}\n\n"
        f"device states (UTC):\n{states}\n"
    )


def _logs(log_dir: Path) -> list[Path]:
    if not log_dir.is_dir():
        return []
    return sorted(p for p in log_dir.iterdir() if p.is_file() and ".log" in p.name)


def _units() -> list[Path]:
    names = (f"{RECORDER}.service", f"{DASHBOARD}.service", f"{BACKUP}.service", f"{BACKUP}.timer")
    return [UNIT_DIR / name for name in names if (UNIT_DIR / name).is_file()]


def _journal() -> str:
    """The last three days of Chairside's units, where there is a journal to ask."""
    if shutil.which("journalctl") is None or not _units():
        return ""
    command = ["journalctl", "--no-pager", "--since", "-3d", "-u", "chairside-*"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"journalctl failed: {exc}\n"
    return result.stdout + result.stderr
