"""Domain errors. Each carries the exit code the CLI returns and a hint saying how to fix it."""

from __future__ import annotations

from .exit_codes import ExitCode


class Opus1Error(Exception):
    """Base of every error the CLI turns into ``Error: <message>`` plus a hint line."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class OperationFailed(Opus1Error):
    """The operation ran and failed (exit 1)."""

    exit_code = ExitCode.FAILED


class UsageError(Opus1Error):
    """The command line is wrong, e.g. an unknown integration (exit 2)."""

    exit_code = ExitCode.USAGE


class SettingsInvalid(Opus1Error):
    """Settings or credentials are invalid or were rejected by the service (exit 3).

    ``fields`` maps a setting's name (or path) to what is wrong with it, when known, for a form to show beside it.
    """

    exit_code = ExitCode.SETTINGS

    def __init__(self, message: str, hint: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message, hint)
        self.fields = dict(fields or {})


class PluginBroken(Opus1Error):
    """A plugin failed to load or misbehaved (exit 4)."""

    exit_code = ExitCode.PLUGIN_BROKEN


class ExportRejected(Opus1Error):
    """The opus1 accounts export is malformed and was rejected as a whole (exit 5)."""

    exit_code = ExitCode.EXPORT_REJECTED

    def __init__(self, message: str, problems: list | None = None, total: int = 0, hint: str | None = None):
        super().__init__(message, hint)
        self.problems = problems or []
        self.total = total
