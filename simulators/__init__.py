"""Simulated patients and monitors that speak the real wire protocols over virtual ports."""
