"""Notification channels through apprise: one plugin per configured channel, a send that
returns apprise's own reason when it fails.

apprise reports failures only through its logger; a handler that keeps each thread's
records apart lets several channels send at once (a hanging mail server does not hold up the
phone) and still tell each send's error.
"""

from __future__ import annotations

import logging
import threading

from vitals.errors import ConfigError
from vitals.lazy import lazy
from vitals.notify_config import NotifyConfig

apprise = lazy("apprise")


class _PerThreadLog(logging.Handler):
    """Collects apprise's warnings for the thread that is sending, and only for it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())


_LOG = _PerThreadLog()
logging.getLogger("apprise").addHandler(_LOG)


class Channels:
    """The configured channels, each checked at start: an unknown scheme or a malformed URL
    is a configuration error, never a silent drop at the first alarm."""

    def __init__(self, config: NotifyConfig) -> None:
        self._plugins = {}
        for channel in config.channels:
            plugin = apprise.Apprise.instantiate(channel.url, suppress_exceptions=True)
            if plugin is None:
                scheme = channel.url.split("://", 1)[0] if "://" in channel.url else channel.url
                raise ConfigError(
                    f"{config.source}: channel {channel.name!r}: apprise cannot use this URL "
                    f"(scheme {scheme[:20]!r}); see the apprise documentation for its URL form"
                )
            self._plugins[channel.name] = plugin

    @property
    def names(self) -> list[str]:
        return list(self._plugins)

    def target(self, name: str) -> str:
        """Where a channel sends, with passwords and tokens hidden (safe to store and show)."""
        return self._plugins[name].url(privacy=True)

    def send(self, name: str, title: str, body: str) -> str:
        """Send now; '' when the channel accepted it, otherwise why it did not."""
        _LOG.local.lines = []
        try:
            delivered = self._plugins[name].notify(body=body, title=title)
        except Exception as exc:  # a plugin bug must not end alarm forwarding
            return f"{type(exc).__name__}: {exc}"
        finally:
            lines, _LOG.local.lines = _LOG.local.lines, None
        if delivered:
            return ""
        return " ".join(lines).strip() or "the channel refused the message (no reason given)"
