"""One exception tree for the whole project.

Each room raises the narrowest of these with a message that names the bad value and what was
expected; only the edges convert them (the CLI prints one line and exits non-zero, the
dashboard shows ``st.error``, the recorder counts them in the device state and goes on).
"""


class ChairsideError(Exception):
    """Base of every error Chairside raises on purpose."""


class ConfigError(ChairsideError):
    """A chair configuration or a command-line setting is missing or malformed."""


class UnknownProtocol(ConfigError):
    """A configuration names a wire protocol no adapter is registered for."""


class PortUnavailable(ChairsideError):
    """A serial port or serial-over-network URL cannot be opened or has gone away."""


class FrameError(ChairsideError):
    """Bytes on the wire do not form a valid frame of the expected protocol."""


class ChecksumError(FrameError):
    """A frame arrived whole but its checksum does not match its contents."""


class StoreError(ChairsideError):
    """The database cannot be opened, is of an unknown schema, or a write failed."""


class AlertChanged(ChairsideError):
    """An alert escalated after a nurse looked at it: she must see it before acknowledging."""


class RecorderRunning(ChairsideError):
    """Another recorder already writes to this database or reads this port."""
