"""Opening a monitor's port from a pyserial URL: a device path, COM3, socket://, rfc2217://, loop://."""

from __future__ import annotations

import os
from dataclasses import replace

import serial

from devices.base import AdapterCounts, SerialSettings
from devices.listen import SCHEME, ListeningPort
from vitals.errors import PortUnavailable

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


def open_port(
    url: str, settings: SerialSettings, timeout: float = 0.1, counts: AdapterCounts | None = None
) -> serial.SerialBase | ListeningPort:
    """Open ``url`` with the protocol's line settings; PortUnavailable names the URL and cause.

    Besides pyserial's URLs, ``listen://host:port`` waits for the sender to connect; the
    senders it refuses are counted in ``counts`` (the adapter's, shown on the chair's page).
    """
    if url.startswith(SCHEME):
        return ListeningPort(url, timeout, counts)
    if is_pseudo_terminal(url):
        # A pty carries bytes, not line signals: Linux refuses parity on it (EINVAL on the
        # second open), so simulated monitors are opened without parity.
        settings = replace(settings, parity="N")
    try:
        port = serial.serial_for_url(
            url,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=PARITIES[settings.parity],
            stopbits=settings.stopbits,
            rtscts=settings.rtscts,
            timeout=timeout,
            write_timeout=1.0,
            do_not_open=True,
        )
        _open_keeping_input(port)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortUnavailable(f"cannot open port {url!r}: {exc}") from None
    return port


def _open_keeping_input(port: serial.SerialBase) -> None:
    """Open without discarding what the monitor sent while nobody read the line (pyserial
    flushes the input on open): a restarted recorder stores those readings instead of
    losing them, timed by the monitor's own clock where the protocol has one."""
    keep = {"_reset_input_buffer": lambda: None, "reset_input_buffer": lambda: None}
    vars(port).update(keep)
    try:
        port.open()
    finally:
        for name in keep:
            vars(port).pop(name, None)


def is_pseudo_terminal(url: str) -> bool:
    return os.path.realpath(url).startswith("/dev/pts/")
