"""Notification config: where unacknowledged alarms are forwarded, and after how long.

A TOML file a clinic's IT person edits by hand, given to the recorder with ``--notify``::

    [[channels]]
    name = "nurse-phone"                              # how the ladder and the audit name it
    url = "ntfys://ntfy.example.org/ward-3?token=${NTFY_TOKEN}"   # any apprise URL

    [[ladder]]
    level = "critical"       # critical, warning, advisory, or technical (device/station faults)
    after_s = 30             # unacknowledged this long (from reaching this level) → send
    channels = ["nurse-phone"]

``${NAME}`` in a URL is taken from the environment when the file is loaded, so tokens and
passwords stay out of the file and out of the repository; a variable that is not set is a
configuration error naming it. The URL scheme itself is checked by the service (apprise).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitals.errors import ConfigError

LADDER_LEVELS = ("advisory", "warning", "critical", "technical")
RETRY_S = 20.0  # a failed send is tried again this often until delivered or acknowledged
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Channel:
    """One destination: a name for people and the audit, an apprise URL (secrets expanded)."""

    name: str
    url: str


@dataclass(frozen=True)
class LadderStep:
    """Send to ``channels`` once an alarm of ``level`` is unacknowledged for ``after_s``."""

    level: str
    after_s: float
    channels: tuple[str, ...]


@dataclass(frozen=True)
class NotifyConfig:
    channels: tuple[Channel, ...]
    ladder: tuple[LadderStep, ...]
    retry_s: float = RETRY_S
    source: str = ""

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        raise ConfigError(f"{self.source}: no channel named {name!r}; known: {known}")

    def problems(self) -> list[str]:
        """What makes this config unable to reach anyone, in a nurse's words (empty if none)."""
        if not self.channels:
            return [f"notification config {self.source} lists no channels: alarms reach no phone"]
        if not self.ladder:
            return [f"notification config {self.source} has no ladder steps: nothing is sent"]
        return []


def load_notify_config(path: Path, environ: dict[str, str] | None = None) -> NotifyConfig:
    """Read and check a notification config; every mistake is one line naming file and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read notification config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_notify_config(data, str(path), os.environ if environ is None else environ)


def parse_notify_config(data: dict[str, Any], source: str, environ) -> NotifyConfig:
    _only_keys(data, {"channels", "ladder", "retry_s"}, source)
    channels = tuple(
        _channel(entry, f"{source}: channels[{i}]", environ)
        for i, entry in enumerate(_tables(data, "channels", source))
    )
    names = [c.name for c in channels]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{source}: channel names must be unique; repeated: {duplicates}")
    ladder = tuple(
        _step(entry, f"{source}: ladder[{i}]", set(names))
        for i, entry in enumerate(_tables(data, "ladder", source))
    )
    retry_s = _number(data.get("retry_s", RETRY_S), f"{source}: retry_s", minimum=1.0)
    return NotifyConfig(channels, ladder, retry_s, source)


def _tables(data: dict, key: str, source: str) -> list[dict]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{source}: {key} must be a list of tables ([[{key}]])")
    return entries


def _channel(entry: dict, where: str, environ) -> Channel:
    _only_keys(entry, {"name", "url"}, where)
    name = _text(entry, "name", where)
    if not NAME.match(name):
        raise ConfigError(f"{where}.name {name!r}: use letters, digits, '-', '_' or '.'")
    return Channel(name, _expand(_text(entry, "url", where), f"{where}.url", environ))


def _step(entry: dict, where: str, known: set[str]) -> LadderStep:
    _only_keys(entry, {"level", "after_s", "channels"}, where)
    level = _text(entry, "level", where)
    if level not in LADDER_LEVELS:
        raise ConfigError(f"{where}.level {level!r}: expected one of {', '.join(LADDER_LEVELS)}")
    if "after_s" not in entry:
        raise ConfigError(f"{where}: missing after_s (seconds unacknowledged before sending)")
    after_s = _number(entry["after_s"], f"{where}.after_s", minimum=0.0)
    channels = entry.get("channels")
    if (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) for c in channels)
    ):
        raise ConfigError(f"{where}.channels: expected a non-empty list of channel names")
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise ConfigError(f"{where}.channels: unknown channel(s) {unknown}")
    return LadderStep(level, after_s, tuple(channels))


def _expand(url: str, where: str, environ) -> str:
    """``${NAME}`` from the environment; the value is never echoed in an error."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if not environ.get(name):
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return ENV_VAR.sub(value, url)


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: missing {key} (a non-empty string)")
    return value.strip()


def _number(value: object, where: str, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{where}: expected a number of seconds >= {minimum:g}, got {value!r}")
    return float(value)


def _only_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected {sorted(allowed)}")
