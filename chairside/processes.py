"""Stopping Chairside's processes cleanly, the same way on Linux, macOS and Windows.

On POSIX a process stops cleanly on SIGINT (Ctrl-C) or SIGTERM (systemd, kill). Windows
cannot send SIGINT to one process: a child started in its own process group
(CREATE_NEW_PROCESS_GROUP) is sent CTRL_BREAK_EVENT instead, which Python raises as SIGBREAK,
so every Chairside process treats SIGBREAK as a request to stop as well.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

# a Windows process ended by Ctrl-C or Ctrl-Break exits with STATUS_CONTROL_C_EXIT
STOPPED_BY_SIGNAL = {0, 130, -signal.SIGINT, 0xC000013A}


def stop_signals() -> list[signal.Signals]:
    found = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Windows only
        found.append(signal.SIGBREAK)
    return found


def on_stop_request(handler: Callable[..., Any]) -> None:
    """Call ``handler`` on Ctrl-C, SIGTERM and (Windows) Ctrl-Break instead of dying."""
    for sig in stop_signals():
        signal.signal(sig, handler)


def child_options() -> dict[str, Any]:
    """Popen options that let ``ask_to_stop`` reach the child on this platform."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {}


def ask_to_stop(child: subprocess.Popen) -> None:
    if os.name == "nt":
        child.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        child.send_signal(signal.SIGINT)
