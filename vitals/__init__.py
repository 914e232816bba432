"""Chairside core: the shared vocabulary, the store and the rules every other room relies on.

This package imports nothing else of ours; devices, simulators, the service and the dashboard
all meet here (the one-way flow is enforced by import-linter, see pyproject.toml).
"""
