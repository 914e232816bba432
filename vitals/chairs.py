"""Chair configuration: which chairs exist, in which order, and how their monitors are reached.

The file is TOML so a clinic's IT person can edit it by hand. A chair with one monitor::

    [[chairs]]
    id = "chair-1"            # stable key in the store; letters, digits, - and _
    name = "Chair 1"          # what nurses see
    port = "/dev/ttyUSB0"     # any pyserial URL: COM3, socket://10.0.0.5:4001, rfc2217://...
    protocol = "ge-s5"        # a registered device protocol
    no_data_after_s = 15      # silence (wall-clock seconds) before a device shows "no data"
    heart_rate = ["hr", "pulse"]  # heart-rate sources, best first (default: ECG, then oximeter)
    dropout_debounce_s = 5    # outages shorter than this are counted, not alarmed
    device_time_tolerance_s = 300  # a device clock further off is flagged (0: not judged)
    [chairs.options]          # protocol settings, e.g. the DRI transmission interval
    interval_s = 5

A chair with several devices (an NIBP monitor and a pulse oximeter) lists them instead::

    [[chairs]]
    id = "chair-2"
    [[chairs.devices]]
    name = "monitor"          # how readings and device states name it (default: protocol)
    port = "/dev/ttyUSB1"
    protocol = "ge-s5"
    [[chairs.devices]]
    port = "/dev/ttyUSB2"
    protocol = "masimo-ascii"

``heart_rate`` lists where the chair's one heart rate comes from, best first: ``hr`` (ECG),
``pulse`` (the oximeter's pulse rate), or a parameter of one named device (``pulse@cuff``, the
pulse rate an NIBP device reports). One heart-rate alarm watches the best valid source.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from vitals.errors import ConfigError
from vitals.heart_rate import DEFAULT_ORDER, HeartRateSources

CHAIR_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
CHAIR_KEYS = {
    "id",
    "name",
    "port",
    "protocol",
    "options",
    "no_data_after_s",
    "dropout_debounce_s",
    "device_time_tolerance_s",
    "devices",
    "heart_rate",
}
# Clinic defaults, reasoned: a connector wiggle or a gateway's reconnect (a few seconds) is not
# worth an alarm, and 5 s stays well inside the 15 s a silent line needs to count as "no
# data"; a monitor clock 5 minutes off is no longer the time of the measurement.
DEFAULT_DEBOUNCE_S = 5.0
DEFAULT_CLOCK_TOLERANCE_S = 300.0
DEVICE_KEYS = {"name", "port", "protocol", "options"}


@dataclass(frozen=True)
class Device:
    """One monitor on one port, speaking one protocol."""

    port: str
    protocol: str
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.protocol


@dataclass(frozen=True)
class Chair:
    """A treatment chair: its main monitor, and any further devices attached to it."""

    id: str
    name: str
    port: str
    protocol: str
    options: dict[str, Any] = field(default_factory=dict)
    no_data_after_s: float = 15.0
    more_devices: tuple[Device, ...] = ()
    device_name: str = ""
    heart_rate: tuple[str, ...] = DEFAULT_ORDER
    dropout_debounce_s: float = DEFAULT_DEBOUNCE_S
    device_time_tolerance_s: float = DEFAULT_CLOCK_TOLERANCE_S  # 0: device time not judged

    @property
    def devices(self) -> tuple[Device, ...]:
        return (
            Device(self.port, self.protocol, self.options, self.device_name),
            *self.more_devices,
        )

    @property
    def heart_rate_sources(self) -> HeartRateSources:
        """The heart-rate sources, with the chair's silence limit as their staleness."""
        return HeartRateSources.parse(self.heart_rate, self.no_data_after_s)


def load_chairs(path: Path) -> list[Chair]:
    """Read and check a chair file; every problem is a ConfigError naming file and field."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"chair config {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"chair config {path} is not valid TOML: {exc}") from None
    return parse_chairs(document, source=str(path))


def parse_chairs(document: dict[str, Any], source: str = "config") -> list[Chair]:
    entries = document.get("chairs")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: expected at least one [[chairs]] table")
    chairs = [_parse_chair(entry, f"{source}: chairs[{i}]") for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for chair in chairs:
        if chair.id in seen:
            raise ConfigError(f"{source}: chair id {chair.id!r} appears twice; ids must be unique")
        seen.add(chair.id)
    return chairs


def _parse_chair(entry: Any, where: str) -> Chair:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table, got {type(entry).__name__}")
    chair_id = _required_text(entry, "id", where)
    if not CHAIR_ID.match(chair_id):
        raise ConfigError(f"{where}: id {chair_id!r} must be 1-40 letters, digits, '-' or '_'")
    _no_unknown_keys(entry, CHAIR_KEYS, where)
    devices = _parse_devices(entry, where)
    main, *more = devices
    labels = [d.label for d in devices]
    if len(labels) != len(set(labels)):
        raise ConfigError(f"{where}: device names {labels} must differ (set name = ...)")
    heart_rate = _heart_rate(entry.get("heart_rate", list(DEFAULT_ORDER)), labels, where)
    return Chair(
        id=chair_id,
        name=str(entry.get("name") or chair_id),
        port=main.port,
        protocol=main.protocol,
        options=main.options,
        no_data_after_s=_positive_seconds(entry.get("no_data_after_s", 15.0), where),
        more_devices=tuple(more),
        device_name=main.name,
        heart_rate=heart_rate,
        dropout_debounce_s=_seconds(entry, "dropout_debounce_s", DEFAULT_DEBOUNCE_S, where),
        device_time_tolerance_s=_seconds(
            entry, "device_time_tolerance_s", DEFAULT_CLOCK_TOLERANCE_S, where
        ),
    )


def _heart_rate(entries: Any, labels: list[str], where: str) -> tuple[str, ...]:
    """Each source must parse, and a named device must be one of the chair's."""
    try:
        sources = HeartRateSources.parse(entries)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for source in sources.order:
        if source.device and source.device not in labels:
            raise ConfigError(
                f"{where}: heart_rate source {str(source)!r} names no device of this chair;"
                f" devices: {labels}"
            )
    return tuple(sources.names())


def _parse_devices(entry: dict[str, Any], where: str) -> list[Device]:
    listed = entry.get("devices")
    if listed is None:
        return [_parse_device(entry, where, chair_level=True)]
    if any(key in entry for key in ("port", "protocol", "options")):
        raise ConfigError(f"{where}: give either port/protocol or [[chairs.devices]], not both")
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f"{where}: devices must be a non-empty list of tables")
    return [_parse_device(d, f"{where}.devices[{i}]") for i, d in enumerate(listed)]


def _parse_device(entry: Any, where: str, chair_level: bool = False) -> Device:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table, got {type(entry).__name__}")
    if not chair_level:
        _no_unknown_keys(entry, DEVICE_KEYS, where)
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: options must be a table, got {options!r}")
    name = "" if chair_level else str(entry.get("name", ""))
    return Device(
        _required_text(entry, "port", where),
        _required_text(entry, "protocol", where),
        options,
        name,
    )


def _no_unknown_keys(entry: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")


def _positive_seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ConfigError(f"{where}: no_data_after_s must be seconds in (0, 3600], got {value!r}")
    return float(value)


def _seconds(entry: dict[str, Any], key: str, default: float, where: str) -> float:
    """An optional duration in [0, 1 day]; 0 turns the behaviour off."""
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise ConfigError(f"{where}: {key} must be seconds in [0, 86400], got {value!r}")
    return float(value)


def _required_text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def dump_chairs(chairs: list[Chair]) -> str:
    rows = []
    for chair in chairs:
        row: dict[str, Any] = {"id": chair.id, "name": chair.name}
        if chair.more_devices:
            row["devices"] = [_device_row(d) for d in chair.devices]
        else:
            row |= _device_row(chair.devices[0])
        row["no_data_after_s"] = chair.no_data_after_s
        if chair.heart_rate != DEFAULT_ORDER:
            row["heart_rate"] = list(chair.heart_rate)
        if chair.dropout_debounce_s != DEFAULT_DEBOUNCE_S:
            row["dropout_debounce_s"] = chair.dropout_debounce_s
        if chair.device_time_tolerance_s != DEFAULT_CLOCK_TOLERANCE_S:
            row["device_time_tolerance_s"] = chair.device_time_tolerance_s
        rows.append(row)
    return tomli_w.dumps({"chairs": rows})


def _device_row(device: Device) -> dict[str, Any]:
    row: dict[str, Any] = {"port": device.port, "protocol": device.protocol}
    if device.name:
        row["name"] = device.name
    if device.options:
        row["options"] = device.options
    return row
