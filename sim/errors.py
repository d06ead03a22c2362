"""Errors of the simulated endpoint."""

from __future__ import annotations


class SimError(Exception):
    """Base of the simulated endpoint's errors; the message says what to fix."""


class WorldError(SimError):
    """The world cannot be built: unreadable dataset, bad line, duplicate question."""


class ConfigError(SimError):
    """A knob has a value the simulated endpoint cannot use."""
