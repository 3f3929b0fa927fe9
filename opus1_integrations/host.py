"""The host's operations, one per CLI command, independent of how results are shown."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils

from . import runlog, schedule, state
from . import settings as settings_store
from .context import Context
from .contacts import LazyAudience, load_audience
from .errors import ExportRejected, Opus1Error, OperationFailed, PluginBroken, SettingsInvalid
from .hookdata import Check, Finding, SyncOptions
from .plugins import Plugins
from .redaction import scrub

STALE_AFTER = timedelta(hours=48)


@dataclass
class SyncResult:
    """The outcome of one sync: its run id, final status and counts."""

    business: str
    integration: str
    run_id: int
    status: str
    dry_run: bool
    counts: dict = field(default_factory=dict)


class Host:
    """Plugins plus the state database: everything a command needs."""

    def __init__(self, plugins: Plugins, db: sqlite_utils.Database):
        self.plugins = plugins
        self.db = db
        self._migrated: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------

    def call(self, name: str, hook: str, **kwargs):
        """Call one integration's hook; an unexpected exception in plugin code is a broken plugin (exit 4)."""
        try:
            return self.plugins.call(name, hook, **kwargs)
        except (Opus1Error, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise PluginBroken(
                scrub(f"the {name!r} plugin failed in {hook}: {type(exc).__name__}: {exc}"),
                hint="report it to the plugin's authors; OPUS1_INT_DEBUG=1 shows the traceback",
            ) from exc

    def context(self, name: str, business: str, **kwargs) -> Context:
        """A hook context for one business, with the plugin's own migrations applied once."""
        if name not in self._migrated:
            migrations = self.call(name, "migrations")
            if migrations is not None:
                state.apply_migrations(self.db, migrations)
            self._migrated.add(name)
        return Context(business=business, integration=name, db=self.db, **kwargs)

    def schema(self, name: str) -> dict:
        """The integration's settings schema (an empty object schema when it declares none)."""
        return self.call(name, "settings_schema") or {"type": "object", "properties": {}}

    def _configured(self, name: str, business: str) -> tuple[dict, settings_store.StoredSettings]:
        """The integration's schema and the business's saved settings; unknown (exit 2), broken (exit 4) and
        unconfigured (exit 3) integrations fail here, in that order."""
        schema = self.schema(name)
        stored = settings_store.load(self.db, business, name)
        if stored is None:
            raise SettingsInvalid(
                f"{name} is not configured for business {business!r}",
                hint=f"run `opus1-int configure {name} --business {business}`",
            )
        return schema, stored

    def saved_settings(self, name: str, business: str) -> tuple[settings_store.StoredSettings, dict]:
        """The saved settings and their resolved form, checked against the schema."""
        schema, stored = self._configured(name, business)
        resolved = settings_store.resolve_secrets(schema, stored.settings)
        settings_store.check_settings(schema, resolved)
        return stored, resolved

    # -- commands ---------------------------------------------------------------------------

    def configure(
        self,
        name: str,
        business: str,
        given: dict,
        *,
        contacts_path: str | None,
        enabled: bool,
        interval_hours: float | None = None,
    ) -> dict:
        """Merge new settings with the saved ones, validate them (schema, then live) and save them, with the
        interval of scheduled syncs when given (else the saved one, 24 hours for a new business).

        Returns the saved settings, redacted.
        """
        schema = self.schema(name)
        stored = settings_store.load(self.db, business, name)
        merged = {**(stored.settings if stored else {}), **given}
        resolved = settings_store.resolve_secrets(schema, merged)
        settings_store.check_settings(schema, resolved)  # the values, not the `$env` references
        if enabled:
            normalised = self.call(name, "configure", context=self.context(name, business), settings=resolved)
            if normalised:
                secrets = settings_store.secret_fields(schema)
                merged = {k: (merged[k] if k in secrets and k in merged else v) for k, v in normalised.items()}
        contacts = contacts_path or (stored.contacts_path if stored else None)
        with self.db.atomic():
            settings_store.save(self.db, business, name, merged, enabled=enabled, contacts_path=contacts)
            if interval_hours is not None:
                schedule.set_interval(self.db, business, name, interval_hours)
        return settings_store.redact(schema, merged)

    def validate(self, name: str, business: str) -> list[Check]:
        """Run the integration's live checks of the saved settings."""
        _, resolved = self.saved_settings(name, business)
        return self.call(name, "validate", context=self.context(name, business), settings=resolved) or []

    def contacts_path(self, name: str, business: str, override: str | Path | None) -> Path:
        """The export to read: the command line's, else the one saved with the settings."""
        if override:
            return Path(override)
        stored = settings_store.load(self.db, business, name)
        if stored is None or not stored.contacts_path:
            raise SettingsInvalid(
                f"no opus1 accounts export is set for {name} in business {business!r}",
                hint=f"pass --contacts PATH, or save one with `opus1-int configure {name} --contacts PATH`",
            )
        return Path(stored.contacts_path)

    def sync(
        self,
        name: str,
        business: str,
        *,
        contacts: str | Path | None,
        options: SyncOptions,
        show_progress: bool,
        wait: bool = False,
        stop: threading.Event | None = None,
        check: Callable[[], None] | None = None,
    ) -> SyncResult:
        """One sync of a business's export.

        An unknown integration, or one not configured or disabled for the business, fails before anything is
        recorded; from there on the run log records the run whatever happens (invalid settings, a missing
        environment variable or export included). ``wait``, ``stop`` and ``check`` are ``runlog.running``'s:
        wait for another process's run instead of failing, and skip the run when ``check`` raises.
        """
        schema, stored = self._configured(name, business)
        if not stored.enabled:
            raise SettingsInvalid(
                f"{name} is disabled for business {business!r}",
                hint=f"enable it with `opus1-int configure {name} --business {business}`",
            )
        context = self.context(name, business, show_progress=show_progress)
        with runlog.running(self.db, business, name, options.dry_run, wait=wait, stop=stop, check=check) as run:
            resolved = settings_store.resolve_secrets(schema, stored.settings)
            settings_store.check_settings(schema, resolved)
            path = self.contacts_path(name, business, contacts)
            with LazyAudience(path) as audience:  # read and checked whole on first use, before any contact is seen
                run.counts = self.call(
                    name, "sync", context=context, settings=resolved, audience=audience, run=run, options=options
                ) or {}
                if not options.dry_run:
                    run.export_fingerprint = audience.fingerprint
        return SyncResult(business, name, run.id, runlog.RunStatus.OK, options.dry_run, run.counts)

    def diagnose(self, name: str, business: str, *, now: datetime | None = None) -> list[Finding]:
        """Every problem of one integration for one business, each with how to fix it."""
        now = now or datetime.now(timezone.utc)
        try:
            stored, resolved = self.saved_settings(name, business)
        except SettingsInvalid as exc:
            return [Finding("error", "settings", exc.message, exc.hint)]
        findings: list[Finding] = []
        if not stored.enabled:
            findings.append(
                Finding("warning", "disabled", f"{name} is disabled for business {business!r}",
                        f"enable it with `opus1-int configure {name} --business {business}`")
            )
        findings += self.call(name, "diagnose", context=self.context(name, business), settings=resolved) or []
        findings += self._run_findings(name, business, now)
        findings += self._export_findings(name, business)
        return findings

    def _run_findings(self, name: str, business: str, now: datetime) -> list[Finding]:
        runs = [r for r in runlog.list_runs(self.db, business=business, integration=name, limit=200) if not r["dry_run"]]
        if not runs:
            return [Finding("warning", "never_synced", f"{name} has never synced business {business!r}",
                            f"run `opus1-int sync {name} --business {business}`")]
        findings = []
        last = runs[0]
        if last["status"] in (runlog.RunStatus.FAILED, runlog.RunStatus.INTERRUPTED):
            findings.append(
                Finding("error", f"last_run_{last['status']}",
                        f"the last sync (run {last['id']}, {last['started_at']}) {last['status']}: {last['error']}",
                        "fix the cause above and run the sync again; it resumes where it stopped")
            )
        ok_runs = [r for r in runs if r["status"] == runlog.RunStatus.OK]
        if ok_runs:
            last_ok = datetime.fromisoformat(ok_runs[0]["finished_at"])
            stale_after = max(STALE_AFTER, 2 * timedelta(hours=schedule.interval_hours(self.db, business, name)))
            if now - last_ok > stale_after:
                hours = stale_after.total_seconds() / 3600
                findings.append(
                    Finding("error", "stale",
                            f"no successful sync since {ok_runs[0]['finished_at']} (over {hours:g} hours)",
                            "check that the scheduled job runs (`opus1-int runs`, docs/operations.md) and fix the "
                            "errors listed here")
                )
            failed = runlog.items(self.db, ok_runs[0]["id"], outcome="failed")
            for item in failed:
                findings.append(
                    Finding("error", item["error_code"] or "item_failed", f"{item['key']}: {item['message']}",
                            item["hint"] or "fix the contact in opus1; failed contacts are retried next run")
                )
        elif last["status"] not in (runlog.RunStatus.FAILED, runlog.RunStatus.INTERRUPTED):
            findings.append(Finding("warning", "never_synced", f"{name} has no successful sync yet", None))
        return findings

    def _export_findings(self, name: str, business: str) -> list[Finding]:
        try:
            path = self.contacts_path(name, business, None)
        except SettingsInvalid as exc:
            return [Finding("warning", "no_export", exc.message, exc.hint)]
        try:
            with load_audience(path) as audience:
                return [Finding("warning", issue.code, issue.message, issue.fix) for issue in audience.quality()]
        except ExportRejected as exc:
            return [Finding("error", "export_rejected", exc.message, exc.hint)]

    def check(self, name: str, business: str, query: str, *, contacts: str | Path | None) -> dict:
        """Why a client is or is not in the service: our rules' decision, the last run, the live state."""
        _, resolved = self.saved_settings(name, business)
        path = self.contacts_path(name, business, contacts)
        with load_audience(path) as audience:
            decisions = audience.find(query)
        keys = list(dict.fromkeys(d.contact_key for d in decisions if d.contact_key))
        lookup_keys = keys or ([query.strip().lower()] if "@" in query else [])
        live = (
            self.call(name, "lookup", context=self.context(name, business), settings=resolved, keys=lookup_keys) or {}
            if lookup_keys
            else {}
        )
        return {
            "query": query,
            "people": decisions,
            "contacts": {
                key: {"last_run": runlog.last_item(self.db, business, name, key), "live": live.get(key)}
                for key in lookup_keys
            },
        }

    def verify(self, name: str, business: str, sample: int, *, contacts: str | Path | None, seed: int | None) -> list[dict]:
        """Compare a random sample of the contacts the last successful runs synced with their live records."""
        _, resolved = self.saved_settings(name, business)
        ok_runs = [
            r for r in runlog.list_runs(self.db, business=business, integration=name, status=runlog.RunStatus.OK, limit=50)
            if not r["dry_run"]
        ]
        if not ok_runs:
            raise OperationFailed(
                f"nothing to verify: {name} has no successful sync for business {business!r}",
                hint=f"run `opus1-int sync {name} --business {business}` first",
            )
        synced: list[str] = []
        for ok_run in ok_runs:  # the latest run that recorded items (a run with nothing to do records none)
            synced = [i["key"] for i in runlog.items(self.db, ok_run["id"])
                      if i["outcome"] in ("created", "updated", "unchanged")]
            if synced:
                break
        chosen = random.Random(seed).sample(synced, min(sample, len(synced)))
        path = self.contacts_path(name, business, contacts)
        with load_audience(path) as audience:
            sample_contacts = [c for c in (audience.contact(k) for k in chosen) if c is not None]
        return self.call(name, "verify", context=self.context(name, business), settings=resolved, contacts=sample_contacts) or []
