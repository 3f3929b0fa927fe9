"""The exit codes of ``opus1-int``, one name each (as pytest's ``ExitCode``); docs/cli.md lists them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means."""

    OK = 0
    """The command did what was asked."""
    FAILED = 1
    """The operation ran and failed (or found errors: ``diagnose``, ``verify``)."""
    USAGE = 2
    """The command line is wrong: an unknown integration, option or value."""
    SETTINGS = 3
    """Settings or credentials are invalid, missing or were rejected by the service."""
    PLUGIN_BROKEN = 4
    """A plugin failed to load or misbehaved: report it to its authors."""
    EXPORT_REJECTED = 5
    """The opus1 accounts export is malformed and was rejected as a whole."""
    PARTIAL = 6
    """The sync finished, but the service refused some contacts (``diagnose`` lists them with their fix)."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C or SIGTERM; the next run finishes the work."""
