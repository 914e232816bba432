"""What one HL7 sender may put on a chair: limits per message and per second.

A chair is one patient. One ORU^R01 from a bedside monitor or a gateway carries a handful of
OBX segments (HR, SpO2, an NIBP triple, perhaps a few parameters Chairside does not record)
in a few kilobytes, at most a few times a second. A message far beyond that is not a
monitor speaking: one 914 kB message of 15,000 OBX segments would otherwise become 15,000
readings of one patient. Such a message is refused whole — answered ``AR`` (application
reject, so a real sender knows), counted on the chair's page, nothing of it stored.

Defaults leave a wide margin over the largest real messages in the test corpus; a chair
can change them with options (``max_message_bytes``, ``max_segments``,
``max_readings_per_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitals.errors import ConfigError

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SEGMENTS = 200
# A monitor sends well under 10 readings a second; 100 leaves room for the simulator at 60x
# (about 72) and a gateway catching up, while a flood is still cut to a bounded trickle.
MAX_READINGS_PER_S = 100.0
BURST_S = 10.0  # a sender may catch up on ten seconds' worth at once (after a reconnect)

OPTION_NAMES = ("max_message_bytes", "max_segments", "max_readings_per_s")


class MessageRefused(Exception):
    """A message over a limit; its text is the kind counted on the chair's page."""


@dataclass
class SenderLimits:
    """The limits of one chair's sender, with a token bucket for readings per second."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_segments: int = MAX_SEGMENTS
    max_readings_per_s: float = MAX_READINGS_PER_S
    _tokens: float = field(default=-1.0, repr=False)
    _at: float = field(default=0.0, repr=False)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SenderLimits:
        """Take the limit options out of a chair's ``options`` (the rest stay for the adapter)."""
        chosen = {name: options.pop(name) for name in OPTION_NAMES if name in options}
        for name, value in chosen.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ConfigError(
                    f"hl7-mllp: option {name} must be a positive number, got {value!r}"
                )
        return cls(**chosen)

    def check_size(self, size: int) -> None:
        if size > self.max_message_bytes:
            raise MessageRefused(f"message refused: over {self.max_message_bytes} bytes")

    def check_segments(self, count: int) -> None:
        if count > self.max_segments:
            raise MessageRefused(f"message refused: over {self.max_segments} OBX segments")

    def take_readings(self, count: int, now: float) -> None:
        """Spend ``count`` readings (a message's OBX segments, what it could become) from the
        bucket, or refuse the message without spending."""
        burst = self.max_readings_per_s * BURST_S
        if self._tokens < 0:
            self._tokens, self._at = burst, now
        self._tokens = min(burst, self._tokens + (now - self._at) * self.max_readings_per_s)
        self._at = now
        if count > self._tokens:
            raise MessageRefused(
                f"message refused: over {self.max_readings_per_s:g} readings a second"
            )
        self._tokens -= count
