"""The public API for integration plugins: everything a plugin may import from the host, in one place.

A plugin imports from here only (``from opus1_integrations.api import hookimpl, Check, ...``); the host's other
modules may change without notice. docs/plugins.md documents each name; tests/host/test_architecture.py fails when
a plugin imports anything else.
"""

from __future__ import annotations

from .clock import now, utcnow
from .contacts import Audience, Contact, load_audience
from .context import Context
from .errors import ExportRejected, OperationFailed, Opus1Error, PluginBroken, SettingsInvalid, UsageError
from .exit_codes import ExitCode
from .hookdata import Check, Finding, Severity, SyncOptions
from .hookspecs import hookimpl
from .output import spreadsheet_safe
from .redaction import scrub
from .runlog import IN_LINE, ItemOutcome, Run, RunStatus



def run_command(argv: list[str]) -> int:
    """Run one ``opus1-int`` command in this process, as if typed (output on this process's stdout and stderr);
    returns its exit code. For a plugin's own commands that walk people through the host's (a demo)."""
    from .cli import main  # the front door is loaded only when a plugin asks for it

    return main(argv)


__all__ = [
    "IN_LINE", "Audience", "Check", "Contact", "Context", "ExitCode", "ExportRejected", "Finding", "ItemOutcome",
    "OperationFailed", "Opus1Error", "PluginBroken", "Run", "RunStatus", "SettingsInvalid", "Severity",
    "SyncOptions", "UsageError", "hookimpl", "load_audience", "now", "run_command", "scrub", "spreadsheet_safe",
    "utcnow",
]
