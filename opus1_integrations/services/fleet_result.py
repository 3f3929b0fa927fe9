"""What a fleet pass (``sync --all``, ``schedule run``) reports per business, and the exit code of a pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..exit_codes import ExitCode
from ..runlog import RunStatus


class Skip(StrEnum):
    """Why a business was not synced by a ``--all`` pass or the scheduler."""

    NOT_DUE = "skipped_not_due"
    """Its last finished sync is more recent than its interval."""
    LOCKED = "skipped_locked"
    """Another process is syncing it."""


@dataclass
class BusinessResult:
    """What happened to one business in a ``--all`` sync or a scheduler pass: a run's status, or why it was skipped."""

    business: str
    integration: str
    status: RunStatus | None = None
    skipped: Skip | None = None
    run_id: int | None = None
    due_at: str | None = None
    """When the business is (next) due: for a skipped business, when it will be; after a sync, the next time."""
    error: str | None = None
    hint: str | None = None
    exit_code: int | None = None
    """The exit code ``sync --business`` would have given this business."""
    counts: dict = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """The run's status, or the reason it was skipped (``skipped_not_due``, ``skipped_locked``)."""
        return self.skipped.value if self.skipped else self.status.value

    def as_dict(self) -> dict:
        """The result as printed by ``sync --all --json``."""
        return {"business": self.business, "integration": self.integration, "outcome": self.outcome,
                "run_id": self.run_id, "due_at": self.due_at, "error": self.error, "hint": self.hint,
                "exit_code": self.exit_code, "counts": self.counts}


def not_started(business: str, integration: str) -> BusinessResult:
    """A business the fleet did not start because it is stopping."""
    return BusinessResult(business, integration, RunStatus.INTERRUPTED, error="not started: stopping")


def exit_code(results: list[BusinessResult]) -> ExitCode:
    """130 when any business was interrupted; else 1 when any failed; else 6 when any finished partly; else 0."""
    statuses = {r.status for r in results}
    if RunStatus.INTERRUPTED in statuses:
        return ExitCode.INTERRUPTED
    if RunStatus.FAILED in statuses:
        return ExitCode.FAILED
    return ExitCode.PARTIAL if RunStatus.PARTIAL in statuses else ExitCode.OK
