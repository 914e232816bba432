"""The Chairside service: the recorder, the command line and the demo launcher."""
