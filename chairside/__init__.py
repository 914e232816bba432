"""The Chairside service: the recorder, the command line and the demo launcher."""

__version__ = "0.2.0"
