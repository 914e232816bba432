"""Doctor's look at the PC: free disk, time zone and clock, and whether the dashboard answers."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FAIL, WARN, OK = "FAIL", "WARN", "OK"
LOW_DISK, CRITICAL_DISK = 2 * 1024**3, 200 * 1024**2
UTC_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "GMT"}


@dataclass(frozen=True)
class HostVerdict:
    status: str
    found: str
    todo: str = ""


def disk(folder: Path, store_size: int) -> HostVerdict:
    """Room for the recorder to write and for tonight's backup (a copy of the store)."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return HostVerdict(FAIL, f"cannot tell free disk at {folder}: {exc}")
    found = f"{_size(free)} free at {folder}, the store is {_size(store_size)}"
    todo = "free disk space or move the data folder to a larger disk"
    if free < CRITICAL_DISK:
        return HostVerdict(FAIL, found + ": the recorder will soon be unable to write", todo)
    if free < max(LOW_DISK, 2 * store_size):
        return HostVerdict(WARN, found + ": low for the store and its nightly backup", todo)
    return HostVerdict(OK, found)


def time_zone() -> HostVerdict:
    """The PC's zone is what the page shows; UTC on a clinic PC usually means never set."""
    name = zone_name()
    offset = datetime.now().astimezone().strftime("%z")
    found = f"{name} (UTC{offset[:3]}:{offset[3:]}), local time {datetime.now():%Y-%m-%d %H:%M}"
    if name in UTC_NAMES or (name == "unknown" and offset == "+0000"):
        advice = (
            "Settings > Time & language > Time zone"
            if os.name == "nt"
            else "`sudo timedatectl set-timezone Europe/Vienna` (your zone)"
        )
        return HostVerdict(WARN, found + ": is the clinic really on UTC?", f"if not: {advice}")
    return HostVerdict(OK, found)


def zone_name() -> str:
    if os.environ.get("TZ"):
        return os.environ["TZ"].lstrip(":")
    with contextlib.suppress(OSError):
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    with contextlib.suppress(OSError):
        return Path("/etc/timezone").read_text().strip()
    return time.tzname[0] or "unknown"


def clock_sync() -> HostVerdict | None:
    """Whether the clock follows a time server (systemd hosts); None where it cannot be told."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        result = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    if result.stdout.strip() == "yes":
        return HostVerdict(OK, "synchronised with a time server")
    return HostVerdict(
        WARN,
        "not synchronised with a time server: readings carry this PC's time",
        "`sudo timedatectl set-ntp true` (and allow NTP to the clinic's time server)",
    )


def dashboard(address: str, port: int) -> HostVerdict:
    """Streamlit's health endpoint answers "ok" when the dashboard serves."""
    import urllib.request  # here, not at the top: every command's start-up would pay for it

    host = "127.0.0.1" if address in ("0.0.0.0", "") else address
    url = f"http://{host}:{port}"
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as response:
            healthy = response.read().strip() == b"ok"
    except OSError as exc:  # URLError is an OSError
        return HostVerdict(
            FAIL,
            f"nothing answers at {url}: {getattr(exc, 'reason', exc)}",
            "start it (`sudo systemctl start chairside-dashboard`, or `chairside dashboard`)",
        )
    if not healthy:
        return HostVerdict(FAIL, f"{url} answers, but not as the Chairside dashboard")
    if address in ("127.0.0.1", "localhost", "::1"):
        return HostVerdict(
            OK,
            f"answers at {url}; bound to {address}, so only this PC can open it "
            "(--address 0.0.0.0 serves the clinic's network)",
        )
    return HostVerdict(OK, f"answers at {url}, bound to {address}")


def _size(size: float) -> str:
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MB"
    return f"{size / 1024**3:.1f} GB"
