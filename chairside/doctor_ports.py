"""Doctor's look at one monitor's port, without ever disturbing the recorder.

While the recorder runs, a port is judged from the state the recorder stores for it: opening
a serial port a second time would flush its input and set its line anew (pyserial does both
on open), which costs readings. Only a port no program holds is opened, and closed at once.
On Linux the program holding a device is found in /proc; a modem manager grabbing USB-serial
adapters is the classic culprit.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from devices.ports import open_port
from devices.registry import adapter_class
from vitals.chairs import Device
from vitals.errors import ChairsideError

FAIL, WARN, OK = "FAIL", "WARN", "OK"
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class PortVerdict:
    status: str
    found: str
    todo: str = ""


def judge_stored_state(state: dict) -> PortVerdict:
    """The recorder's own view of a device it serves (a row of ``queries.device_states``)."""
    counts = f"{state['frames_ok']} frames ok, {state['frames_bad']} bad"
    error = f": {state['last_error']}" if state["last_error"] else ""
    if state["state"] == "connected":
        return PortVerdict(OK, f"the recorder has it open, connected ({counts})")
    if state["state"] == "no data":
        return PortVerdict(
            WARN,
            f"the recorder has it open but receives no data{error} ({counts})",
            "check the cable and that the monitor's serial output is on, with the protocol's "
            "settings (README: Supported monitors)",
        )
    return PortVerdict(
        FAIL,
        f"the recorder cannot use it ({state['state']}{error})",
        "see the checks below for the port; the recorder retries by itself",
    )


def probe(device: Device) -> PortVerdict:
    """Look at a port no recorder is using: exists, free, openable."""
    url = device.port
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme == "listen":
        return _probe_listen(url)
    if scheme in ("socket", "rfc2217"):
        return _probe_tcp(url)
    if scheme:
        return PortVerdict(OK, f"a {scheme}:// port (simulated or diagnostic): nothing to check")
    return _probe_device(device)


def _probe_device(device: Device) -> PortVerdict:
    path = device.port
    if os.name != "nt" and not os.path.exists(path):
        return PortVerdict(
            FAIL,
            "does not exist",
            "plug in the USB-serial adapter, or correct the port in the chair config; "
            "`ls -l /dev/serial/by-id/` lists the adapters this PC sees, by a name that "
            "survives a reboot",
        )
    holders = holders_of(path)
    if holders:
        who = ", ".join(f"pid {pid} ({name})" for pid, name in holders)
        return PortVerdict(
            FAIL,
            f"held by another program: {who}",
            "only one program can read a monitor: stop that program (a modem manager: "
            "`sudo systemctl disable --now ModemManager`)",
        )
    try:
        port = open_port(path, adapter_class(device.protocol).serial)
    except ChairsideError as exc:
        return PortVerdict(FAIL, f"cannot be opened: {exc}", _open_advice(str(exc)))
    port.close()
    return PortVerdict(OK, "exists, no program holds it, and it opens")


def _open_advice(error: str) -> str:
    if "ermission" in error or "denied" in error:
        if os.name == "nt":
            return "another program has the COM port open (only one may): close it"
        return (
            "the account that runs Chairside needs the serial ports' group: "
            "`sudo usermod -aG dialout chairside`, then restart the recorder"
        )
    if os.name == "nt":
        return "Device Manager > Ports (COM & LPT) lists the COM ports this PC has"
    return "check the adapter with `dmesg | tail` after plugging it in"


def _probe_tcp(url: str) -> PortVerdict:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), CONNECT_TIMEOUT_S):
            pass
    except (OSError, TypeError, ValueError) as exc:
        return PortVerdict(
            FAIL,
            f"cannot connect to {parts.hostname}:{parts.port}: {exc}",
            "check the serial server's address, that it is powered and on the network, and "
            "that its port is in raw TCP mode (rfc2217:// for RFC 2217 mode)",
        )
    return PortVerdict(OK, f"{parts.hostname}:{parts.port} accepts connections")


def _probe_listen(url: str) -> PortVerdict:
    parts = urlsplit(url)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        try:
            server.bind((parts.hostname or "", parts.port or 0))
        except (OSError, TypeError, OverflowError) as exc:
            return PortVerdict(
                FAIL,
                f"cannot listen on {parts.hostname}:{parts.port}: {exc}",
                "another program uses that TCP port, or the address is not this PC's: "
                "choose another port in the chair config and in the sender",
            )
    return PortVerdict(OK, f"{parts.hostname}:{parts.port} is free to listen on")


def holders_of(device: str) -> list[tuple[int, str]]:
    """(pid, program) of every process with ``device`` open; Linux only, else empty.

    Without root only one's own processes can be seen; that is the best a user can do.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    target = os.path.realpath(device)
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                found.append((int(entry.name), (entry / "comm").read_text().strip()))
    return found
