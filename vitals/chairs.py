"""Chair configuration: which chairs exist, in which order, and how each monitor is reached.

The file is TOML so a clinic's IT person can edit it by hand::

    [[chairs]]
    id = "chair-1"            # stable key in the store; letters, digits, - and _
    name = "Chair 1"          # what nurses see
    port = "/dev/ttyUSB0"     # any pyserial URL: COM3, socket://10.0.0.5:4001, rfc2217://...
    protocol = "ge-s5"        # a registered device protocol
    no_data_after_s = 15      # silence (wall-clock seconds) before the chair shows "no data"
    [chairs.options]          # protocol settings, e.g. the DRI transmission interval
    interval_s = 5
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from vitals.errors import ConfigError

CHAIR_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Chair:
    """A treatment chair and the one monitor attached to it."""

    id: str
    name: str
    port: str
    protocol: str
    options: dict[str, Any] = field(default_factory=dict)
    no_data_after_s: float = 15.0


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
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: options must be a table, got {options!r}")
    unknown = set(entry) - {"id", "name", "port", "protocol", "options", "no_data_after_s"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return Chair(
        id=chair_id,
        name=str(entry.get("name") or chair_id),
        port=_required_text(entry, "port", where),
        protocol=_required_text(entry, "protocol", where),
        options=options,
        no_data_after_s=_positive_seconds(entry.get("no_data_after_s", 15.0), where),
    )


def _positive_seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ConfigError(f"{where}: no_data_after_s must be seconds in (0, 3600], got {value!r}")
    return float(value)


def _required_text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def dump_chairs(chairs: list[Chair]) -> str:
    rows = []
    for chair in chairs:
        row: dict[str, Any] = {
            "id": chair.id,
            "name": chair.name,
            "port": chair.port,
            "protocol": chair.protocol,
            "no_data_after_s": chair.no_data_after_s,
        }
        if chair.options:
            row["options"] = chair.options
        rows.append(row)
    return tomli_w.dumps({"chairs": rows})
