"""The value types hooks take and return: live checks (``validate``), findings (``diagnose``), sync options."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Check:
    """One live check of an integration's settings, returned by ``validate``.

    ``Check(name="api key", ok=False, message="Mailchimp rejected the key", hint="copy a new key ...")``
    """

    name: str
    """What was checked, in a few words ("api key", "audience")."""
    ok: bool
    """Whether it passed."""
    message: str
    """What was found, for people."""
    hint: str | None = None
    """How to fix it (a failing check should always have one)."""

    def to_dict(self) -> dict:
        """The check as ``--json`` shows it."""
        return asdict(self)


class Severity(StrEnum):
    """How much a ``Finding`` matters: ``diagnose`` exits 1 when any is an ``error``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem or note shown by ``diagnose``.

    ``Finding(severity="error", code="audience_missing", message="...", hint="...")``
    """

    severity: Severity | str
    """``error``, ``warning`` or ``info`` (a ``Severity``)."""
    code: str
    """A stable, machine-readable name of the kind of problem (``snake_case``)."""
    message: str
    """What is wrong, for people."""
    hint: str | None = None
    """How to fix it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))

    def to_dict(self) -> dict:
        """The finding as ``--json`` shows it."""
        return {"severity": self.severity.value, "code": self.code, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class SyncOptions:
    """What the command line asked of one sync."""

    dry_run: bool = False
    """Plan and record what would happen, but send no writes."""
    plan_path: Path | None = None
    """Write the plan per contact to this ``.csv`` or ``.json`` file."""
    force: bool = False
    """Run even past the plugin's safety stop."""
