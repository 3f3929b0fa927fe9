"""Syncing one business: the run is opened under the business's lock and recorded whatever happens."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import locks, retention, runlog
from ..contacts import LazyAudience
from ..errors import Opus1Error, SettingsInvalid
from ..exit_codes import ExitCode
from ..hookdata import SyncOptions
from ..host import Host
from ..runlog import RunStatus
from ..settings import StoredSettings


@dataclass
class SyncResult:
    """How one sync of one business ended: its run, status and the plugin's counts; for a run that failed, the
    error with its fix and the exit code it means."""

    business: str
    integration: str
    run_id: int
    status: RunStatus
    dry_run: bool
    counts: dict = field(default_factory=dict)
    failure: Opus1Error | None = None
    """The error that stopped the run (``status`` is ``failed``), for a front door to show."""
    not_synced: dict[str, int] = field(default_factory=dict)
    """People the host's rules kept out, by reason (children, no or invalid email, ...), when the export was read."""
    export: str | None = None
    """The export the run read."""

    @property
    def exit_code(self) -> ExitCode:
        """0 ok, 6 partial (some items failed), else the failure's own code."""
        if self.failure is not None:
            return ExitCode(self.failure.exit_code)
        return ExitCode.PARTIAL if self.status is RunStatus.PARTIAL else ExitCode.OK

    def to_dict(self) -> dict:
        """As ``sync --json`` prints it: the plugin's counts under ``counts``."""
        return {
            "business": self.business, "integration": self.integration, "run_id": self.run_id,
            "status": self.status.value, "dry_run": self.dry_run, "counts": self.counts,
            "not_synced": self.not_synced, "error": self.failure.message if self.failure else None,
            "hint": self.failure.hint if self.failure else None, "exit_code": int(self.exit_code),
        }


def sync_business(host: Host, name: str, business: str, *, contacts: str | Path | None = None,
                  options: SyncOptions = SyncOptions(), show_progress: bool = False, wait: bool = False,
                  stop: threading.Event | None = None, lock_held: bool = False,
                  apply_retention: bool = True) -> SyncResult:
    """One sync of a business's export (the saved one, or ``contacts``).

    An unknown integration, or one not configured or disabled for the business, raises before anything is recorded;
    so does ``locks.Locked`` when another process is syncing it (``wait`` waits instead, until ``stop`` is set).
    From there on the run log records the run whatever happens, and a failure (invalid settings, a missing environment
    variable, a rejected export, the service's refusal) comes back in the result. ``lock_held``: the caller already
    holds the business's lock (a scheduler that re-checks under it that the business is due). Afterwards the run
    log is pruned when due (``retention.prune_if_due``), unless ``apply_retention`` is off (a fleet prunes once).
    """
    integration = host.integration(name)
    stored = host.require_stored(name, business)
    if not stored.enabled:
        raise SettingsInvalid(f"{name} is disabled for business {business!r}",
                              hint=f"enable it with `opus1-int configure {name} --business {business}`")
    if lock_held:
        result = _run(host, integration.name, business, contacts, options, show_progress)
    else:
        with locks.business_lock(business, name, wait=wait, stop=stop):
            result = _run(host, integration.name, business, contacts, options, show_progress)
    if apply_retention:
        retention.prune_if_due(host.db)
    return result


#: People the rules merged into someone else's contact are synced, as that contact.
MERGED = ("shared_email", "duplicate_person")


def _run(host: Host, name: str, business: str, contacts, options: SyncOptions, show_progress: bool) -> SyncResult:
    runlog.mark_interrupted(host.db, business, name)
    failure, path, not_synced = None, None, {}
    try:
        with runlog.running(host.db, business, name, options.dry_run) as run:
            configured = host.configured(name, business)
            path = contacts_path(host, name, business, contacts, stored=configured.stored)
            integration = configured.integration
            context = host.context(integration, business, show_progress=show_progress)
            with LazyAudience(path) as audience:  # read and checked whole on first use, before any contact is seen
                run.counts = integration.sync(context, configured.settings, audience, run, options)
                if audience.loaded:
                    not_synced = {r: n for r, n in audience.counts["skipped"].items() if r not in MERGED and n}
                if not options.dry_run:
                    run.export_fingerprint = audience.fingerprint
    except Opus1Error as exc:
        failure = exc
    return SyncResult(business, name, run.id, run.status, options.dry_run, run.counts, failure, not_synced,
                      str(path) if path else None)


def contacts_path(host: Host, name: str, business: str, override: str | Path | None = None, *,
                  stored: StoredSettings | None = None) -> Path:
    """The export to read: ``override`` (the command line's), else the one saved with the settings (``stored``, when
    the caller has them)."""
    if override:
        return Path(override)
    stored = stored or host.stored(name, business)
    if stored is None or not stored.contacts_path:
        raise SettingsInvalid(
            f"no opus1 accounts export is set for {name} in business {business!r}",
            hint=f"save one with `opus1-int configure {name} --business {business} --contacts PATH`",
        )
    return Path(stored.contacts_path)
