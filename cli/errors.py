"""Errors of the `ted` command itself (its own files and options), each one sentence a user can act on."""

from __future__ import annotations


class CliError(Exception):
    """Base of the command's own errors; shown as ``ted: error: <message>`` with exit status 1."""


class OptionConflict(CliError):
    """Options that cannot be used together, or that a resumed run does not allow."""
